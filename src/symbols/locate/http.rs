//! HTTP(S) downloads from symbol servers: redirects checked by hand, a size cap, and the
//! body written to a temporary file (never under its final name).

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};
use tempfile::NamedTempFile;
use ureq::http::header::LOCATION;
use ureq::Agent;

/// Most redirects followed for one request.
pub(super) const MAX_REDIRECTS: usize = 5;

/// The result of one GET.
pub(super) enum Fetch {
    /// 200: the body, in a temporary file.
    Body(NamedTempFile),
    /// 404 or 410: the server does not have it.
    Missing,
    /// Anything else; `unreachable` when no HTTP answer came at all, or not in time.
    Failed {
        /// What went wrong, naming the URL.
        note: String,
        /// Why the server is not to be asked again in this run, if it is not.
        unreachable: Option<Unreachable>,
    },
}

/// Why a server is given up for the rest of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unreachable {
    /// No HTTP answer: connection refused, timed out, host not found, TLS failure, ….
    NoAnswer,
    /// It answered, but a download was not done within the deadline.
    TooSlow,
}

impl Fetch {
    fn failed(note: String) -> Fetch {
        Fetch::Failed {
            note,
            unreachable: None,
        }
    }
}

/// An agent that does not follow redirects itself and reports every status as a response.
pub(super) fn agent(timeout: Duration) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_resolve(Some(timeout))
        .timeout_connect(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .timeout_per_read(Some(timeout))
        .user_agent(concat!("dumpleak/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// The bounds of one download.
#[derive(Clone, Copy)]
pub(super) struct Limits {
    /// Largest body kept.
    pub max_bytes: u64,
    /// Longest time from the first request to the body's last byte, redirects included.
    pub deadline: Duration,
}

/// GETs `url` into a temporary file in `dir`, following at most [`MAX_REDIRECTS`] redirects
/// to http(s) URLs, refusing bodies over `limits.max_bytes` and abandoning the download when
/// it is not done within `limits.deadline`.
pub(super) fn fetch(agent: &Agent, url: &str, dir: &Path, limits: Limits) -> Fetch {
    let until = Instant::now() + limits.deadline.min(Duration::from_secs(365 * 24 * 3600));
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let remaining = until.saturating_duration_since(Instant::now());
        let request = agent
            .get(&current)
            .config()
            .timeout_global(Some(remaining))
            .build();
        let response = match request.call() {
            Ok(response) => response,
            // A server this slow is not asked again in this run (nor made to cost a deadline
            // per file).
            Err(_) if Instant::now() >= until => {
                return Fetch::Failed {
                    note: past_deadline(&current, limits.deadline),
                    unreachable: Some(Unreachable::TooSlow),
                }
            }
            Err(error) => {
                return Fetch::Failed {
                    note: format!("{current}: {error}"),
                    unreachable: Some(Unreachable::NoAnswer),
                }
            }
        };
        let status = response.status().as_u16();
        match status {
            200 => return save(response.into_body(), &current, dir, limits, until),
            404 | 410 => return Fetch::Missing,
            301 | 302 | 303 | 307 | 308 => {
                let Some(location) = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|value| value.to_str().ok())
                else {
                    return Fetch::failed(format!(
                        "{current}: redirect {status} without a Location"
                    ));
                };
                match redirect_target(&current, location) {
                    Ok(next) => current = next,
                    Err(reason) => return Fetch::failed(format!("{current}: {reason}")),
                }
            }
            500..=599 => return Fetch::failed(format!("{current}: server error {status}")),
            _ => return Fetch::failed(format!("{current}: unexpected HTTP status {status}")),
        }
    }
    Fetch::failed(format!("{url}: more than {MAX_REDIRECTS} redirects"))
}

fn past_deadline(url: &str, deadline: Duration) -> String {
    format!(
        "{url}: not done within the {}-second download deadline; abandoned",
        deadline.as_secs_f64()
    )
}

fn save(body: ureq::Body, url: &str, dir: &Path, limits: Limits, until: Instant) -> Fetch {
    let max_bytes = limits.max_bytes;
    if let Some(length) = body.content_length().filter(|&length| length > max_bytes) {
        return Fetch::failed(format!(
            "{url}: {length} bytes, over the {max_bytes}-byte download limit; not downloaded"
        ));
    }
    let mut file = match NamedTempFile::with_prefix_in(".download-", dir) {
        Ok(file) => file,
        Err(error) => {
            return Fetch::failed(format!(
                "{url}: cannot create a file in {}: {error}",
                dir.display()
            ))
        }
    };
    let reader = Deadline {
        inner: body.into_reader(),
        until,
    };
    match io::copy(
        &mut io::Read::take(reader, max_bytes + 1),
        file.as_file_mut(),
    ) {
        Ok(copied) if copied > max_bytes => Fetch::failed(format!(
            "{url}: over the {max_bytes}-byte download limit; download abandoned"
        )),
        Ok(_) => Fetch::Body(file),
        Err(_) if Instant::now() >= until => Fetch::Failed {
            note: past_deadline(url, limits.deadline),
            unreachable: Some(Unreachable::TooSlow),
        },
        Err(error) => Fetch::failed(format!("{url}: download failed: {error}")),
    }
}

/// A reader that fails once `until` has passed (ureq's own global timeout is the first line;
/// this one also holds when ureq returns buffered data).
struct Deadline<R> {
    inner: R,
    until: Instant,
}

impl<R: io::Read> io::Read for Deadline<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if Instant::now() >= self.until {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "download deadline"));
        }
        self.inner.read(buf)
    }
}

/// The absolute URL a `Location` header names, relative to `base`; only http and https.
fn redirect_target(base: &str, location: &str) -> Result<String, String> {
    let location = location.trim();
    let target = if let Some(rest) = location.strip_prefix("//") {
        format!("{}//{rest}", scheme_of(base).unwrap_or("https:"))
    } else if location.starts_with('/') {
        format!("{}{location}", origin_of(base))
    } else if scheme_of(location).is_some() {
        location.to_string()
    } else {
        match base.rfind('/') {
            Some(slash) if slash > origin_of(base).len() => {
                format!("{}{location}", &base[..=slash])
            }
            _ => format!("{}/{location}", origin_of(base)),
        }
    };
    let scheme = scheme_of(&target).unwrap_or("").to_ascii_lowercase();
    if scheme == "http:" || scheme == "https:" {
        Ok(target)
    } else {
        Err(format!(
            "redirect to {target:?} refused (only http and https)"
        ))
    }
}

/// `https:` from `https://host/path`; `None` without a scheme.
fn scheme_of(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let scheme = &url[..colon];
    let valid = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid.then(|| &url[..=colon])
}

/// `https://host:port` from `https://host:port/path`.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// `text` as one URL path segment (everything but unreserved characters percent-encoded).
pub(super) fn encode_segment(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets() {
        let base = "http://127.0.0.1:8080/syms/a.pdb/ID/a.pdb";
        for (location, expected) in [
            ("https://cdn.example/x", "https://cdn.example/x"),
            ("/other/a.pdb", "http://127.0.0.1:8080/other/a.pdb"),
            ("//cdn.example/x", "http://cdn.example/x"),
            ("b.pdb", "http://127.0.0.1:8080/syms/a.pdb/ID/b.pdb"),
        ] {
            assert_eq!(redirect_target(base, location).unwrap(), expected);
        }
        for refused in ["file:///etc/passwd", "FTP://host/a.pdb"] {
            assert!(redirect_target(base, refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("a b#%.pdb"), "a%20b%23%25.pdb");
    }
}
