//! A symbol server on 127.0.0.1 (tiny_http, ephemeral port) for the tests that download
//! symbols. Nothing leaves the loopback interface.

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tiny_http::{Response, ResponseBox};

/// A symbol server on an ephemeral loopback port serving `root` as a store; `special` may
/// answer a request path itself. Counts requests.
pub struct TestServer {
    server: Arc<tiny_http::Server>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

type Special = dyn Fn(&str) -> Option<ResponseBox> + Send + Sync;

impl TestServer {
    /// Serves `root` at [`TestServer::url`] until dropped.
    pub fn start(
        root: &Path,
        special: impl Fn(&str) -> Option<ResponseBox> + Send + Sync + 'static,
    ) -> TestServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let root = root.to_path_buf();
        let special: Box<Special> = Box::new(special);
        let thread = {
            let server = Arc::clone(&server);
            let requests = Arc::clone(&requests);
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    let url = request.url().to_string();
                    requests.lock().unwrap().push(url.clone());
                    let response = special(&url).unwrap_or_else(|| serve_file(&root, &url));
                    let _ = request.respond(response);
                }
            })
        };
        TestServer {
            server,
            requests,
            thread: Some(thread),
        }
    }

    /// The store's URL, for `srv*CACHE*URL`.
    pub fn url(&self) -> String {
        let port = self.server.server_addr().to_ip().unwrap().port();
        format!("http://127.0.0.1:{port}/symbols")
    }

    /// How many requests were made so far.
    pub fn requests(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The paths requested so far, in order.
    pub fn request_paths(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The file under `root` that `url` names below `/symbols/`, or 404.
fn serve_file(root: &Path, url: &str) -> ResponseBox {
    let relative = url.strip_prefix("/symbols/").unwrap_or("");
    if relative
        .split('/')
        .any(|part| part == ".." || part.is_empty())
    {
        return Response::empty(404).boxed();
    }
    match fs::read(root.join(relative)) {
        Ok(bytes) => Response::from_data(bytes).boxed(),
        Err(_) => Response::empty(404).boxed(),
    }
}
