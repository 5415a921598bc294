//! Admission: how many actions hold an instance at once, and how many may wait
//! for one.
//!
//! With the pooling allocator the runtime reserves memory for a fixed number of
//! instances; one more instantiation would fail inside wasmtime and look like
//! the connector's fault. Instead every instantiation first takes a slot. An
//! action that finds none waits, in arrival order, up to a bound in count and
//! time; past either bound it fails at once as `host-busy`, so a burst of work
//! slows down instead of failing, and an overload is reported as what it is.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How actions queue for an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queueing {
    /// The most actions waiting for a slot at once; one more is refused.
    pub max_waiting: usize,
    /// The longest an action waits for a slot.
    pub max_wait: Duration,
}

impl Default for Queueing {
    fn default() -> Self {
        Self { max_waiting: 4096, max_wait: Duration::from_secs(60) }
    }
}

/// The slots of one runtime (none to take without an instance pool).
#[derive(Debug)]
pub(crate) struct Slots {
    free: Option<Arc<Semaphore>>,
    capacity: usize,
    waiting: AtomicUsize,
    queueing: Queueing,
}

/// A slot held until dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Slots {
    /// `capacity` slots, or no limit with `None`.
    pub fn new(capacity: Option<usize>, queueing: Queueing) -> Self {
        let free = capacity.map(|capacity| Arc::new(Semaphore::new(capacity)));
        Self { free, capacity: capacity.unwrap_or(0), waiting: AtomicUsize::new(0), queueing }
    }

    /// A slot: at once if one is free, after waiting otherwise; an error saying
    /// why when the queue is full or the wait too long.
    pub async fn take(&self) -> Result<Slot, String> {
        let Some(free) = &self.free else { return Ok(Slot { _permit: None }) };
        if let Ok(permit) = free.clone().try_acquire_owned() {
            return Ok(Slot { _permit: Some(permit) });
        }
        let Queueing { max_waiting, max_wait } = self.queueing;
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(format!(
                "The host is busy: all {} instance slots are in use and {max_waiting} actions are already waiting for one",
                self.capacity
            ));
        }
        let waited = tokio::time::timeout(max_wait, free.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match waited {
            Ok(Ok(permit)) => Ok(Slot { _permit: Some(permit) }),
            Ok(Err(_closed)) => Err("The host is shutting down".into()),
            Err(_elapsed) => Err(format!(
                "The host is busy: no instance slot came free within {} s ({} slots)",
                max_wait.as_secs_f64(),
                self.capacity
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn actions_wait_in_turn_and_the_bounds_are_refusals() {
        let slots = Arc::new(Slots::new(Some(2), Queueing { max_waiting: 1, max_wait: Duration::from_millis(200) }));
        let (a, b) = (slots.take().await.unwrap(), slots.take().await.unwrap());
        // The third waits for a slot; a fourth finds the queue full.
        let waiter = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take().await.map(|_| ()) }
        });
        tokio::task::yield_now().await;
        let full = slots.take().await.unwrap_err();
        assert!(full.contains("1 actions are already waiting"), "{full}");
        drop(a);
        waiter.await.unwrap().unwrap();
        // Waiting longer than the bound is a refusal, not a hang.
        let c = slots.take().await.unwrap();
        let late = slots.take().await.unwrap_err();
        assert!(late.contains("within 0.2 s"), "{late}");
        drop((b, c));
        slots.take().await.unwrap();
    }

    #[tokio::test]
    async fn without_a_pool_nothing_waits() {
        let slots = Slots::new(None, Queueing { max_waiting: 0, max_wait: Duration::ZERO });
        let held: Vec<Slot> = futures_util::future::join_all((0..100).map(|_| slots.take()))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(held.len(), 100);
    }
}
