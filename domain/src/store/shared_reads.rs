//! PostgreSQL: the rows every sign-in reads (the portal settings, the Notion connection) are
//! read once for all the requests that ask at the same time, and never from before they asked.
//!
//! There is no memo on PostgreSQL (other replicas write), so under load every sign-in would
//! send the same two reads. Instead, the askers of one key form a round: the round's read begins
//! only once the read before it has answered, and only after every member joined, so each
//! answer is at least as new as its asker's question (a connection switched off before a request
//! arrived is seen switched off). While a read is in flight, new askers gather for the next one:
//! under load one round trip serves many sign-ins; alone, a request reads as it always did.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::{StoreError, StoreResult};

type Answer<V> = Option<StoreResult<V>>;

/// The rows shared this way.
pub(crate) struct SharedRows {
    pub settings: SharedReads<String, Option<String>>,
    pub connections: SharedReads<crate::ids::Provider, Option<super::ConnectionRow>>,
}

impl SharedRows {
    pub fn new() -> Self {
        SharedRows { settings: SharedReads::new(), connections: SharedReads::new() }
    }
}

/// Shared reads by key (a setting's key, a provider): a handful of keys, kept for the store's life.
pub(crate) struct SharedReads<K, V> {
    keys: Mutex<HashMap<K, Arc<Key<V>>>>,
}

struct Key<V> {
    /// The round still gathering askers, whose read has not begun.
    gathering: Mutex<Option<watch::Sender<Answer<V>>>>,
    /// Held by the round whose read is in flight.
    in_flight: tokio::sync::Mutex<()>,
}

impl<K, V> SharedReads<K, V>
where
    K: Eq + Hash,
    V: Clone + Send + Sync + 'static,
{
    pub fn new() -> Self {
        SharedReads { keys: Mutex::new(HashMap::new()) }
    }

    /// `load`'s answer, or that of a read begun after this call began. `load` is called only if
    /// this caller opens a round (a caller joining one builds no read of its own), and its read
    /// runs on its own task (a caller that gives up does not strand the others).
    pub async fn read<Q, F>(&self, key: &Q, load: impl FnOnce() -> F) -> StoreResult<V>
    where
        Q: ?Sized + Eq + Hash + ToOwned<Owned = K>,
        K: std::borrow::Borrow<Q>,
        F: Future<Output = StoreResult<V>> + Send + 'static,
    {
        let entry = {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            match keys.get(key) {
                Some(entry) => Arc::clone(entry),
                None => {
                    let entry = Arc::new(Key { gathering: Mutex::new(None), in_flight: tokio::sync::Mutex::new(()) });
                    keys.insert(key.to_owned(), Arc::clone(&entry));
                    entry
                }
            }
        };
        let mut answer = {
            let mut gathering = entry.gathering.lock().unwrap_or_else(PoisonError::into_inner);
            match gathering.as_ref() {
                Some(round) => round.subscribe(),
                None => {
                    let (round, answer) = watch::channel(None);
                    *gathering = Some(round);
                    tokio::spawn(lead(Arc::clone(&entry), load()));
                    answer
                }
            }
        };
        let lost = || StoreError::Unavailable("a shared read ended without an answer".into());
        let answered = answer.wait_for(Option::is_some).await.map_err(|_| lost())?;
        answered.clone().unwrap_or_else(|| Err(lost()))
    }
}

/// The round's read: after the one in flight, closing the round to newcomers as it begins.
async fn lead<V, F>(key: Arc<Key<V>>, load: F)
where
    F: Future<Output = StoreResult<V>>,
{
    let _turn = key.in_flight.lock().await;
    let round = key.gathering.lock().unwrap_or_else(PoisonError::into_inner).take();
    let answer = load.await;
    if let Some(round) = round {
        round.send_replace(Some(answer));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;

    /// A database stand-in: each read answers the value as it is when the read begins, after
    /// `delay`, and counts itself.
    #[derive(Clone)]
    struct Table {
        value: Arc<AtomicU64>,
        reads: Arc<AtomicU64>,
        delay: Duration,
    }

    impl Table {
        fn new(delay_ms: u64) -> Table {
            Table { value: Arc::default(), reads: Arc::default(), delay: Duration::from_millis(delay_ms) }
        }

        fn load(&self) -> impl Future<Output = StoreResult<u64>> + Send + 'static {
            let table = self.clone();
            async move {
                table.reads.fetch_add(1, Ordering::SeqCst);
                let seen = table.value.load(Ordering::SeqCst);
                tokio::time::sleep(table.delay).await;
                Ok(seen)
            }
        }
    }

    /// An asker on a task of its own.
    fn ask(
        shared: &Arc<SharedReads<&'static str, u64>>,
        table: &Table,
        key: &'static str,
    ) -> tokio::task::JoinHandle<StoreResult<u64>> {
        let (shared, load) = (Arc::clone(shared), table.load());
        tokio::spawn(async move { shared.read(&key, move || load).await })
    }

    #[tokio::test]
    async fn concurrent_askers_share_reads() {
        let shared = Arc::new(SharedReads::<&str, u64>::new());
        let table = Table::new(20);
        let askers: Vec<_> = (0..50).map(|_| ask(&shared, &table, "portal")).collect();
        for asker in askers {
            assert_eq!(asker.await.unwrap().unwrap(), 0);
        }
        let reads = table.reads.load(Ordering::SeqCst);
        assert!((1..=2).contains(&reads), "50 askers at once: {reads} reads");
    }

    #[tokio::test]
    async fn an_asker_never_gets_a_read_begun_before_it_asked() {
        let shared = Arc::new(SharedReads::<&str, u64>::new());
        let table = Table::new(50);
        // A read in flight that saw the old value…
        let early = ask(&shared, &table, "connection");
        tokio::time::sleep(Duration::from_millis(10)).await;
        // …then the value changes, and a request asks: it must see the change.
        table.value.store(7, Ordering::SeqCst);
        let late = shared.read(&"connection", || table.load()).await.unwrap();
        assert_eq!(early.await.unwrap().unwrap(), 0);
        assert_eq!(late, 7, "the late asker waited for a read of its own");
        assert_eq!(table.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn keys_do_not_wait_for_each_other_and_errors_reach_every_asker_once() {
        let shared = Arc::new(SharedReads::<&str, u64>::new());
        let failing = async { Err::<u64, _>(StoreError::Unavailable("down".into())) };
        let (first, second) = tokio::join!(shared.read(&"a", || failing), shared.read(&"a", || async { Ok(1) }));
        assert!(matches!(first, Err(StoreError::Unavailable(_))), "{first:?}");
        assert!(matches!(second, Err(StoreError::Unavailable(_))), "one round, one answer: {second:?}");
        // The next round reads again.
        assert_eq!(shared.read(&"a", || async { Ok(2) }).await.unwrap(), 2);
        // A slow key does not hold another back.
        let slow = Table::new(200);
        let started = std::time::Instant::now();
        let (_, quick) = tokio::join!(shared.read(&"slow", || slow.load()), async {
            let value = shared.read(&"quick", || async { Ok(3) }).await;
            (value, started.elapsed())
        });
        assert_eq!(quick.0.unwrap(), 3);
        assert!(quick.1 < Duration::from_millis(150), "{:?}", quick.1);
    }

    #[tokio::test]
    async fn an_asker_that_gives_up_strands_nobody() {
        let shared = Arc::new(SharedReads::<&str, u64>::new());
        let table = Table::new(30);
        let in_flight = ask(&shared, &table, "k");
        tokio::time::sleep(Duration::from_millis(5)).await;
        // The next round's opener gives up while it gathers; the one who joined it still hears.
        let gave_up = tokio::time::timeout(Duration::from_millis(1), shared.read(&"k", || table.load())).await;
        assert!(gave_up.is_err());
        assert_eq!(shared.read(&"k", || table.load()).await.unwrap(), 0);
        assert_eq!(in_flight.await.unwrap().unwrap(), 0);
        assert_eq!(table.reads.load(Ordering::SeqCst), 2, "the abandoned round still read, once");
    }
}
