//! What the SQLite store keeps in memory: the rows every sign-in and every session check reads.
//!
//! SQLite is embedded: one process owns the file ([`super::Store::open`] takes a lock on it to
//! make sure), so every write passes through this process's store, which updates or forgets the
//! copies here as it writes. The memo is exact, never stale by a timeout. PostgreSQL serves many
//! replicas whose writes this process never sees: it always reads through.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, PoisonError, RwLock};

use super::{ConnectionRow, SessionRow};
use crate::ids::{Provider, TokenHash, UserId};
use crate::model;

/// How many sessions and users stay in memory; past it the map starts again from empty (the
/// database holds everything, this only saves reads).
const CAPACITY: usize = 10_000;

/// A bounded map behind a lock, cleared when full.
///
/// A read that misses goes to the database and brings its row back here; if a write changed
/// the table meanwhile, that row may be older than the write, so it is dropped rather than kept:
/// every change moves the table's generation on, and [`Table::put`] keeps a row only when the
/// generation is still the one taken (with [`Table::ticket`]) before the database was read.
pub(crate) struct Table<K, V>(RwLock<Entries<K, V>>);

struct Entries<K, V> {
    map: HashMap<K, V>,
    generation: u64,
}

/// The table's generation when a read began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

impl<K: Eq + Hash, V: Clone> Table<K, V> {
    fn new() -> Self {
        Table(RwLock::new(Entries { map: HashMap::new(), generation: 0 }))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries<K, V>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// A change: the generation moves on, so reads already under way keep nothing.
    fn change<T>(&self, change: impl FnOnce(&mut HashMap<K, V>) -> T) -> T {
        let mut entries = self.0.write().unwrap_or_else(PoisonError::into_inner);
        entries.generation += 1;
        change(&mut entries.map)
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.read().map.get(key).cloned()
    }

    /// Take before reading the database; hand to [`Table::put`] with what was read.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.read().generation)
    }

    /// Keeps what a read found, unless the table changed since `ticket`.
    pub fn put(&self, ticket: Ticket, key: K, value: V) {
        let mut entries = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if entries.generation != ticket.0 {
            return;
        }
        if entries.map.len() >= CAPACITY {
            entries.map.clear();
        }
        entries.map.insert(key, value);
    }

    /// Sets what a write just wrote.
    pub fn set(&self, key: K, value: V) {
        self.change(|map| {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(key, value);
        })
    }

    pub fn forget<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.change(|map| map.remove(key));
    }

    pub fn forget_where(&self, mut matches: impl FnMut(&V) -> bool) {
        self.change(|map| map.retain(|_, value| !matches(value)));
    }

    pub fn update<Q>(&self, key: &Q, change: impl FnOnce(&mut V))
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.change(|map| map.get_mut(key).map(change));
    }

    pub fn clear(&self) {
        self.change(|map| map.clear());
    }
}

pub(crate) struct Memo {
    /// By provider; `None` remembers that there is none.
    pub connections: Table<Provider, Option<ConnectionRow>>,
    /// Settings by key; `None` remembers an unset one.
    pub settings: Table<String, Option<String>>,
    /// Sessions by token hash (only found ones: a made-up token costs a read, never memory).
    pub sessions: Table<TokenHash, Option<SessionRow>>,
    /// Users (with their accounts and grants) by id, shared: every session check hands one
    /// out. Only found ones.
    pub users: Table<UserId, Option<Arc<model::User>>>,
}

impl Memo {
    pub fn new() -> Self {
        Memo { connections: Table::new(), settings: Table::new(), sessions: Table::new(), users: Table::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_starts_again_and_forgetting_is_exact() {
        let table: Table<String, u32> = Table::new();
        for i in 0..CAPACITY as u32 {
            table.put(table.ticket(), i.to_string(), i);
        }
        assert_eq!(table.get("7"), Some(7));
        table.put(table.ticket(), "new".into(), 1);
        assert_eq!(table.get("7"), None, "cleared when full");
        assert_eq!(table.get("new"), Some(1));

        table.set("a".into(), 10);
        table.set("b".into(), 20);
        table.forget_where(|v| *v == 10);
        assert_eq!(table.get("a"), None);
        table.update("b", |v| *v += 1);
        assert_eq!(table.get("b"), Some(21));
        table.forget("b");
        assert_eq!(table.get("b"), None);
    }

    #[test]
    fn a_row_read_before_a_change_is_not_kept() {
        let table: Table<String, &str> = Table::new();
        // A read begins and finds the session live...
        let ticket = table.ticket();
        // ...a sign-out ends it and forgets it meanwhile...
        table.forget("token");
        // ...and the late answer must not bring the live row back.
        table.put(ticket, "token".into(), "live");
        assert_eq!(table.get("token"), None);

        let ticket = table.ticket();
        table.put(ticket, "token".into(), "revoked");
        assert_eq!(table.get("token"), Some("revoked"));
    }
}
