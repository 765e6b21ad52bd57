//! A thread that lives in another network namespace and takes samples there on request.
//!
//! `setns(2)` moves only the calling thread, and netlink sockets answer for the namespace they
//! were created in, so each inspected namespace gets one thread that joins it once and keeps its
//! [`Collector`] (and that collector's netlink sockets) for its whole life. The thread holds a
//! reference on the namespace while it runs; it ends, and lets the namespace go, when its
//! [`Worker`] is dropped.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};

use super::host::namespaces::{join, namespace_inode};
use super::target::{TargetError, enter_error};
use super::{Collector, HostServices, ProcPaths};
use crate::sample::{CollectPlan, Sample};

/// What a namespace thread is asked for: a sample taken with `plan`, with its socket owners
/// or (`owners: false`) without them, for the caller to attribute with other namespaces'.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// What to collect.
    pub plan: CollectPlan,
    /// Whether the thread attributes the sockets to processes itself.
    pub owners: bool,
}

/// The handle of a namespace thread: requests go in, samples come out.
pub struct Worker {
    requests: Sender<Request>,
    samples: Receiver<Sample>,
}

impl Worker {
    /// Starts a thread in the namespace at `path` and waits until it has joined; the error says
    /// why it could not (privileges, or a file that is not a network namespace).
    pub fn start(path: &Path, services: Arc<HostServices>) -> Result<Worker, TargetError> {
        let (requests, inbox) = mpsc::channel::<Request>();
        let (outbox, samples) = mpsc::channel::<Sample>();
        let (joined, joining) = mpsc::channel::<std::io::Result<()>>();
        let link = path.to_path_buf();
        std::thread::Builder::new()
            .name("sockscope-netns".to_string())
            .spawn(move || {
                // The namespace sockscope is already in needs no setns (nor the privilege for it).
                let here = namespace_inode(Path::new("/proc/thread-self/ns/net")).ok();
                let entered = if here.is_some() && here == namespace_inode(&link).ok() { Ok(()) } else { join(&link) };
                let ok = entered.is_ok();
                if joined.send(entered).is_err() || !ok {
                    return;
                }
                let mut collector = Collector::with_services(ProcPaths::live(), services, CollectPlan::default());
                for request in inbox {
                    collector.set_plan(request.plan);
                    let sample = if request.owners { collector.collect() } else { collector.collect_namespace() };
                    if outbox.send(sample).is_err() {
                        return;
                    }
                }
            })
            .map_err(|error| TargetError::CannotEnter(format!("cannot start a namespace thread: {error}")))?;
        match joining.recv() {
            Ok(Ok(())) => Ok(Worker { requests, samples }),
            Ok(Err(error)) => Err(enter_error(path, &error)),
            Err(_) => Err(TargetError::CannotEnter(format!("{}: the namespace thread ended", path.display()))),
        }
    }

    /// Asks for a sample; [`Worker::receive`] collects it. Asking several workers first and
    /// receiving afterwards samples their namespaces in parallel.
    pub fn request(&self, request: Request) -> bool {
        self.requests.send(request).is_ok()
    }

    /// The sample asked for; `None` when the thread ended.
    pub fn receive(&self) -> Option<Sample> {
        self.samples.recv().ok()
    }

    /// A sample taken now with `plan`.
    pub fn sample(&self, plan: CollectPlan) -> Option<Sample> {
        if !self.request(Request { plan, owners: true }) {
            return None;
        }
        self.receive()
    }
}
