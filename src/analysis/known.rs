//! Known-issue rules (`--known FILE`, TOML): a module name, a version range, optionally a
//! frame pattern and a handle type with a minimum count; a dump that matches carries the
//! rule's label and link.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A rules file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssues {
    /// The rules, in file order.
    #[serde(default, rename = "rule")]
    pub rules: Vec<KnownIssue>,
}

/// One rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KnownIssue {
    /// Short label shown with matched dumps.
    pub label: String,
    /// Where to read more (bug tracker, KB article).
    #[serde(default)]
    pub link: Option<String>,
    /// Module file name, any case, with or without extension.
    pub module: String,
    /// Lowest matching file version, inclusive (`11.0.5601.0`).
    #[serde(default)]
    pub min_version: Option<String>,
    /// Highest matching file version, exclusive (the first fixed version).
    #[serde(default)]
    pub fixed_in: Option<String>,
    /// A frame must contain this text (`MSMAPI32!SzGPrev`), in an allocation stack or the
    /// crash stack.
    #[serde(default)]
    pub frame: Option<String>,
    /// Object type that must be present…
    #[serde(default)]
    pub handle_type: Option<String>,
    /// …at least this many times (default 1).
    #[serde(default)]
    pub min_handles: Option<usize>,
}

/// A known-issue rules file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The rules file.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or does not have the rule shape.
    #[error("{0}")]
    Syntax(String),
    /// A version bound is not a dotted version.
    #[error("rule {label:?}: {version:?} is not a version like 11.0.5601.0")]
    BadVersion {
        /// The rule's label.
        label: String,
        /// The text given as a version.
        version: String,
    },
}

/// A TOML error as one line, `line L, column C: message` (the parser's own message spans
/// several lines and quotes the file; messages on standard error are one line each).
fn syntax_error(text: &str, error: &toml::de::Error) -> RuleError {
    let place = error
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| {
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: ")
        })
        .unwrap_or_default();
    let message: Vec<&str> = error
        .message()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    RuleError::Syntax(format!("{place}{}", message.join("; ")))
}

/// What a rule needs to know of a dump.
pub struct DumpFacts<'a> {
    /// Loaded modules: (file name, file version).
    pub modules: &'a [(String, Option<String>)],
    /// Frames of the allocation stacks and the crash stack, in WinDbg notation.
    pub frames: &'a [&'a str],
    /// Handle counts per type.
    pub types: &'a std::collections::BTreeMap<String, usize>,
}

impl KnownIssues {
    /// Reads and parses the rules file at `path`.
    pub fn load(path: &std::path::Path) -> Result<KnownIssues, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuleError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        KnownIssues::parse(&text).map_err(|error| match error {
            RuleError::Syntax(reason) => RuleError::Syntax(format!("{}: {reason}", path.display())),
            other => other,
        })
    }

    /// Parses a rules file; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<KnownIssues, RuleError> {
        let issues: KnownIssues =
            toml::from_str(text).map_err(|error| syntax_error(text, &error))?;
        for rule in &issues.rules {
            for version in [&rule.min_version, &rule.fixed_in].into_iter().flatten() {
                if parse_version(version).is_none() {
                    return Err(RuleError::BadVersion {
                        label: rule.label.clone(),
                        version: version.clone(),
                    });
                }
            }
        }
        Ok(issues)
    }

    /// The rules a dump matches.
    pub fn matching(&self, facts: &DumpFacts<'_>) -> Vec<&KnownIssue> {
        self.rules
            .iter()
            .filter(|rule| rule.matches(facts))
            .collect()
    }
}

impl KnownIssue {
    fn matches(&self, facts: &DumpFacts<'_>) -> bool {
        let module_matches = facts.modules.iter().any(|(name, version)| {
            crate::snapshot::same_module(name, &self.module)
                && self.version_matches(version.as_deref())
        });
        if !module_matches {
            return false;
        }
        if let Some(pattern) = &self.frame {
            let pattern = pattern.to_lowercase();
            if !facts
                .frames
                .iter()
                .any(|frame| frame.to_lowercase().contains(&pattern))
            {
                return false;
            }
        }
        if let Some(type_name) = &self.handle_type {
            let count = facts
                .types
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(type_name))
                .map_or(0, |(_, count)| *count);
            if count < self.min_handles.unwrap_or(1) {
                return false;
            }
        }
        true
    }

    fn version_matches(&self, version: Option<&str>) -> bool {
        if self.min_version.is_none() && self.fixed_in.is_none() {
            return true;
        }
        let Some(version) = version.and_then(parse_version) else {
            return false;
        };
        let at_least = self
            .min_version
            .as_deref()
            .and_then(parse_version)
            .is_none_or(|min| compare(&version, &min) != Ordering::Less);
        let before_fix = self
            .fixed_in
            .as_deref()
            .and_then(parse_version)
            .is_none_or(|fixed| compare(&version, &fixed) == Ordering::Less);
        at_least && before_fix
    }
}

/// `11.0.5601.0` → [11, 0, 5601, 0].
pub fn parse_version(text: &str) -> Option<Vec<u64>> {
    text.trim()
        .split('.')
        .map(|part| part.parse().ok())
        .collect::<Option<Vec<u64>>>()
        .filter(|parts| !parts.is_empty())
}

/// Compares versions part by part; missing parts count as 0.
pub fn compare(a: &[u64], b: &[u64]) -> Ordering {
    for index in 0..a.len().max(b.len()) {
        let ordering = a.get(index).unwrap_or(&0).cmp(b.get(index).unwrap_or(&0));
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const RULES: &str = r#"
        [[rule]]
        label = "MAPI handle leak (KB 0000001)"
        link = "https://support.example/kb/0000001"
        module = "MSMAPI32.DLL"
        min_version = "11.0.0.0"
        fixed_in = "11.0.8161.0"
        handle_type = "Mutant"
        min_handles = 100
    "#;

    #[test]
    fn matches_module_version_range_and_type_count() {
        let issues = KnownIssues::parse(RULES).unwrap();
        let mut types = BTreeMap::new();
        types.insert("Mutant".to_string(), 420);
        let modules = vec![("msmapi32.dll".to_string(), Some("11.0.5601.0".to_string()))];
        let facts = DumpFacts {
            modules: &modules,
            frames: &[],
            types: &types,
        };
        assert_eq!(issues.matching(&facts).len(), 1);
        let fixed = vec![("MSMAPI32.DLL".to_string(), Some("11.0.8161.0".to_string()))];
        let facts = DumpFacts {
            modules: &fixed,
            frames: &[],
            types: &types,
        };
        assert!(issues.matching(&facts).is_empty(), "the fixed version");
        types.insert("Mutant".to_string(), 12);
        let facts = DumpFacts {
            modules: &modules,
            frames: &[],
            types: &types,
        };
        assert!(issues.matching(&facts).is_empty(), "too few handles");
    }

    #[test]
    fn frame_patterns_and_bad_files() {
        let issues = KnownIssues::parse(
            "[[rule]]\nlabel = \"x\"\nmodule = \"MSMAPI32\"\nframe = \"msmapi32!szgprev\"\n",
        )
        .unwrap();
        let modules = vec![("MSMAPI32.DLL".to_string(), None)];
        let frames = vec!["MSMAPI32!SzGPrev+0x293"];
        let types = BTreeMap::new();
        let facts = DumpFacts {
            modules: &modules,
            frames: &frames,
            types: &types,
        };
        assert_eq!(issues.matching(&facts).len(), 1);
        assert!(KnownIssues::parse("[[rule]]\nlabel = \"x\"\n").is_err());
        let error = KnownIssues::parse("[[rule]]\nlabel = \"x\"\nmodule = \n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 3, column 10: invalid string; expected `\"`, `'`"
        );
        assert!(
            KnownIssues::parse("[[rule]]\nlabel = \"x\"\nmodule = \"a\"\nfixed_in = \"v2\"\n")
                .is_err()
        );
        assert_eq!(compare(&[11, 0, 5601], &[11, 0, 5601, 0]), Ordering::Equal);
    }
}
