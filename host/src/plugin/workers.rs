//! The threads plugin calls run on, and the hand-off that reaches them.
//!
//! A plugin call is synchronous and may run up to its epoch deadline, so it
//! cannot run on an async worker: it would stall every connection that
//! worker serves, and the WASI stdio shims a guest may call block on tokio,
//! which panics inside a runtime. It used to go through tokio's blocking
//! pool (`spawn_blocking`), which allocates a task, takes the pool's mutex
//! and may spawn a thread per call. Here a fixed set of plain threads waits
//! on one channel: a call costs one channel send, one thread wake-up and
//! one oneshot reply. Calls that fit a small budget skip even that and run
//! inline (see `Cache::call`); the threads take the slow ones and the ones
//! that need to block.
//!
//! The threads are few on purpose (`[plugin] workers`, default: the number of
//! cores) and run at a lower scheduling priority than the request path
//! (`[plugin] worker_nice`), so plugins that stay just under their deadline
//! can occupy every worker and still leave the threads that parse, answer
//! and serve memo hits their share of the CPU.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crossbeam_channel::{Receiver, Sender};

/// One unit of work for a plugin thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a call handed to the workers produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    /// The work panicked (a host bug) or the workers are gone (shutdown).
    #[error("the plugin worker was lost before it answered")]
    Lost,
}

/// A fixed pool of plugin threads fed by one channel. Dropping the last
/// handle closes the channel; each thread ends after its current call.
pub struct PluginWorkers {
    jobs: Sender<Job>,
    threads: usize,
}

impl std::fmt::Debug for PluginWorkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginWorkers")
            .field("threads", &self.threads)
            .finish()
    }
}

impl PluginWorkers {
    /// Starts `threads` (at least one) plugin threads named `hoard-plugin-<label>-<n>`,
    /// each lowered to niceness `nice` (0 leaves it as it is).
    pub fn start(threads: usize, nice: i32, label: &str) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for n in 0..threads {
            let queue = queue.clone();
            let name = if label.is_empty() {
                format!("hoard-plugin-{n}")
            } else {
                format!("hoard-plugin-{label}-{n}")
            };
            std::thread::Builder::new()
                .name(name)
                .spawn(move || serve(&queue, nice))?;
        }
        Ok(Self { jobs, threads })
    }

    /// How many threads run calls.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `work` on a plugin thread and waits for its answer without
    /// blocking the async worker. If the caller goes away (the client
    /// disconnected), the work still finishes, so whatever it holds (its
    /// permits) is released only when the thread is done with it.
    pub async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, WorkerError> {
        let (answer, reply) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The receiver may be gone; the work's effects stand regardless.
            let _ = answer.send(work());
        });
        self.jobs.send(job).map_err(|_| WorkerError::Lost)?;
        reply.await.map_err(|_| WorkerError::Lost)
    }
}

/// A plugin thread's life: take a job, run it, repeat until the channel closes.
fn serve(queue: &Receiver<Job>, nice: i32) {
    lower_priority(nice);
    while let Ok(job) = queue.recv() {
        // A panic is a host bug; it drops the job's reply sender, so the
        // caller gets `WorkerError::Lost`, and this thread keeps serving.
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("a plugin call panicked; the request got an error reply");
        }
    }
}

/// Lowers this thread's scheduling priority (Linux niceness is per thread).
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        if let Err(error) = rustix::process::setpriority_process(Some(tid), nice) {
            tracing::warn!(%error, nice, "could not lower the plugin thread's priority");
        }
    }
}

/// Runs administrative work that is not a plugin call and may take seconds
/// (compiling and checking a component for `PLUGIN.LOAD`) on tokio's blocking
/// pool, so it neither stalls an async worker nor occupies a plugin thread
/// that requests are waiting for.
pub async fn admin_task<T: Send + 'static, E: Send + 'static>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, AdminTaskError<E>> {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => done.map_err(AdminTaskError::Failed),
        Err(join) => {
            tracing::error!(error = %join, "administrative task failed");
            Err(AdminTaskError::Lost)
        }
    }
}

/// How an [`admin_task`] ended without a value.
#[derive(Debug)]
pub enum AdminTaskError<E> {
    /// The work ran and failed.
    Failed(E),
    /// The work panicked or the runtime is shutting down.
    Lost,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[tokio::test]
    async fn answers_come_back_and_a_panic_is_lost_not_fatal() {
        let workers = PluginWorkers::start(1, 0, "test").unwrap();
        assert_eq!(workers.run(|| 6 * 7).await, Ok(42));
        let lost = workers.run(|| -> u32 { panic!("host bug") }).await;
        assert_eq!(lost, Err(WorkerError::Lost));
        // The one thread survived the panic and still serves.
        assert_eq!(workers.run(|| "still here").await, Ok("still here"));
    }

    #[tokio::test]
    async fn runs_off_the_calling_thread() {
        let workers = PluginWorkers::start(2, 0, "test").unwrap();
        let name = workers
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("hoard-plugin-test-"));
    }
}
