//! What the ledgers meet once per record, kept once: a node and service,
//! a document type, a supplier, a field's name. At a million records the
//! ledgers hold a million places but a few hundred distinct ones; each
//! distinct value is stored once and named by a number.

use crate::domain::record::NodeCode;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// Where a record is filed: its node and its service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    /// Its node.
    pub node: NodeCode,
    /// Its service, when it has one.
    pub service: Option<String>,
}

impl Place {
    /// The place of a record of `node` and `service`.
    pub fn new(node: NodeCode, service: Option<String>) -> Self {
        Place { node, service }
    }
}

impl From<&Place> for Arc<Place> {
    fn from(place: &Place) -> Self {
        Arc::new(place.clone())
    }
}

/// Distinct values, each stored once and numbered in the order first met.
#[derive(Debug)]
pub struct Interner<T: ?Sized> {
    values: Vec<Arc<T>>,
    ids: HashMap<Arc<T>, u32>,
}

// By hand: a derived `Clone` would ask `T: Clone`, which `str` is not.
impl<T: ?Sized> Clone for Interner<T> {
    fn clone(&self) -> Self {
        Interner {
            values: self.values.clone(),
            ids: self.ids.clone(),
        }
    }
}

impl<T: ?Sized> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            values: Vec::new(),
            ids: HashMap::new(),
        }
    }
}

impl<T: ?Sized + Eq + Hash> Interner<T>
where
    for<'a> Arc<T>: From<&'a T>,
{
    /// The number of `value`, kept now if it is new.
    pub fn id(&mut self, value: &T) -> u32 {
        if let Some(id) = self.ids.get(value) {
            return *id;
        }
        // Four billion distinct values would not fit in memory: the
        // numbers cannot run out before the memory does.
        let id = self.values.len() as u32;
        let kept: Arc<T> = value.into();
        self.values.push(Arc::clone(&kept));
        self.ids.insert(kept, id);
        id
    }

    /// `value` as kept (shared, not copied), kept now if it is new.
    pub fn shared(&mut self, value: &T) -> Arc<T> {
        let id = self.id(value);
        Arc::clone(&self.values[id as usize])
    }

    /// The value numbered `id` (shared, not copied).
    pub fn get(&self, id: u32) -> Option<&Arc<T>> {
        self.values.get(id as usize)
    }

    /// Every value with its number, in the order first met.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Arc<T>)> {
        self.values.iter().enumerate().map(|(id, value)| (id as u32, value))
    }

    /// How many distinct values it holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_met_again_keeps_its_number_and_is_stored_once() {
        let mut suppliers: Interner<str> = Interner::default();
        let a = suppliers.id("Dupain");
        let b = suppliers.id("Martin");
        assert_eq!(suppliers.id("Dupain"), a);
        assert_ne!(a, b);
        assert_eq!(suppliers.len(), 2);
        assert_eq!(suppliers.get(b).map(|s| &**s), Some("Martin"));
        assert!(suppliers.get(7).is_none());
        let first = suppliers.get(a).cloned().expect("kept");
        let again = suppliers.id("Dupain");
        assert!(Arc::ptr_eq(&first, suppliers.get(again).expect("kept")));

        let mut places: Interner<Place> = Interner::default();
        let voirie = Place::new(NodeCode::parse("FIN-FAC").expect("a node"), Some("Voirie".into()));
        let id = places.id(&voirie);
        assert_eq!(places.id(&voirie.clone()), id);
        assert_eq!(
            places.iter().map(|(i, p)| (i, (**p).clone())).collect::<Vec<_>>(),
            vec![(id, voirie)]
        );
    }
}
