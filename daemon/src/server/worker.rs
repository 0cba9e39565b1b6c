//! One thread per device: it owns the device (and its SCSI transport) and
//! runs the closures sent to it one at a time, in order. The async side
//! awaits the answer and never blocks on SG_IO, however long a command
//! (a rewind, a move) takes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::oneshot;

// The task clears `busy` itself before it hands back its answer, so a caller
// that has the answer never sees the device as still busy.
type Task<D> = Box<dyn FnOnce(&mut D, &AtomicBool) + Send>;

/// The device thread has stopped (it panicked, or the daemon is ending).
#[derive(Debug, Clone, thiserror::Error)]
#[error("device thread of {0} is gone")]
pub struct WorkerGone(pub String);

/// Handle to a device thread.
pub struct Worker<D> {
    name: String,
    tx: std::sync::mpsc::Sender<Task<D>>,
    busy: Arc<AtomicBool>,
}

impl<D> Clone for Worker<D> {
    fn clone(&self) -> Self {
        Worker {
            name: self.name.clone(),
            tx: self.tx.clone(),
            busy: self.busy.clone(),
        }
    }
}

impl<D: Send + 'static> Worker<D> {
    /// Starts the thread `name`, which owns `device` until every handle is
    /// dropped.
    pub fn spawn(name: &str, mut device: D) -> std::io::Result<Worker<D>> {
        let (tx, rx) = std::sync::mpsc::channel::<Task<D>>();
        let busy = Arc::new(AtomicBool::new(false));
        let b = busy.clone();
        std::thread::Builder::new()
            .name(format!("dev {name}"))
            .spawn(move || {
                while let Ok(task) = rx.recv() {
                    b.store(true, Ordering::Release);
                    task(&mut device, &b);
                }
            })?;
        Ok(Worker {
            name: name.into(),
            tx,
            busy,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the thread is running a task now (health polls skip a busy
    /// device instead of queueing behind a long write).
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// Runs `f` on the device thread and waits for its result.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut D) -> R + Send + 'static,
    ) -> Result<R, WorkerGone> {
        let (tx, rx) = oneshot::channel();
        let task: Task<D> = Box::new(move |d, busy| {
            let r = f(d);
            busy.store(false, Ordering::Release);
            let _ = tx.send(r);
        });
        self.tx
            .send(task)
            .map_err(|_| WorkerGone(self.name.clone()))?;
        rx.await.map_err(|_| WorkerGone(self.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_run_in_order_on_the_device_thread() {
        let w = Worker::spawn("t", Vec::<u32>::new()).unwrap();
        let main = std::thread::current().id();
        let other = w.run(move |_| std::thread::current().id()).await.unwrap();
        assert_ne!(main, other);
        for i in 0..5 {
            w.run(move |v| v.push(i)).await.unwrap();
        }
        assert_eq!(w.run(|v| v.clone()).await.unwrap(), vec![0, 1, 2, 3, 4]);
        assert!(!w.is_busy());
    }
}
