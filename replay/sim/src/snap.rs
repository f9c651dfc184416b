//! The state snapshot codec behind session checkpoints: every field of the books, the venue,
//! the blotter and the digests written out exactly as held (little-endian, lengths before
//! contents), so a restored session is the same state, not an equivalent one. SDK events and
//! actions travel as their ABI records, the project's one record format.
//!
//! [`Snap`] is implemented field by field with [`snap_struct!`]: a field added to a struct and
//! not to its line there fails to compile, so a checkpoint never silently drops state.

use lockstep_sdk::{
    Action, ActionRecord, BookRecord, Event, EventBody, EventHeader, EventRecord, Level, Nanos,
    Price, Qty, Quote, Side,
};
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;

/// Why snapshot bytes could not be read back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum SnapError {
    /// The bytes end inside a value.
    Truncated {
        /// Offset at which more bytes were needed.
        at: usize,
    },
    /// A value that no state can hold (a bad tag, an impossible length).
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Offset of the value.
        at: usize,
    },
}

impl fmt::Display for SnapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapError::Truncated { at } => write!(f, "the state ends early (at byte {at})"),
            SnapError::Invalid { what, at } => write!(f, "invalid {what} at byte {at}"),
        }
    }
}

impl std::error::Error for SnapError {}

/// Reads a snapshot front to back.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// Offset of the next byte.
    pub(crate) fn at(&self) -> usize {
        self.at
    }

    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.at == self.bytes.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], SnapError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(SnapError::Truncated { at: self.bytes.len() })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SnapError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// A collection length, refused when even one byte per element could not follow.
    fn len(&mut self) -> Result<usize, SnapError> {
        let at = self.at;
        let n = u64::get(self)?;
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(SnapError::Invalid { what: "length", at });
        }
        Ok(n as usize)
    }

    pub(crate) fn invalid(&self, what: &'static str) -> SnapError {
        SnapError::Invalid { what, at: self.at }
    }
}

/// A value that goes into a snapshot and comes back identical.
pub(crate) trait Snap: Sized {
    fn put(&self, w: &mut Vec<u8>);
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError>;
}

/// Implements [`Snap`] for a struct, field by field in the order listed (all fields). With
/// `if check`, a value read back is refused unless `check(&value)` holds (the invariants other
/// code indexes by, so forged bytes with a valid CRC cannot make it panic).
macro_rules! snap_struct {
    ($t:ident { $($f:ident),* $(,)? } if $check:path) => {
        impl $crate::snap::Snap for $t {
            fn put(&self, w: &mut Vec<u8>) {
                $( $crate::snap::Snap::put(&self.$f, w); )*
            }
            fn get(r: &mut $crate::snap::Reader<'_>) -> Result<Self, $crate::snap::SnapError> {
                let v = Self { $( $f: $crate::snap::Snap::get(r)?, )* };
                if $check(&v) { Ok(v) } else { Err(r.invalid(stringify!($t))) }
            }
        }
    };
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl $crate::snap::Snap for $t {
            fn put(&self, w: &mut Vec<u8>) {
                $( $crate::snap::Snap::put(&self.$f, w); )*
            }
            fn get(r: &mut $crate::snap::Reader<'_>) -> Result<Self, $crate::snap::SnapError> {
                Ok(Self { $( $f: $crate::snap::Snap::get(r)?, )* })
            }
        }
    };
}
pub(crate) use snap_struct;

/// Implements [`Snap`] for a field-less enum through its position in `[variants]`.
macro_rules! snap_enum {
    ($t:ident [ $($v:ident),* $(,)? ]) => {
        impl $crate::snap::Snap for $t {
            fn put(&self, w: &mut Vec<u8>) {
                let all = [$($t::$v),*];
                let i = all.iter().position(|v| v == self).unwrap_or(0);
                w.push(i as u8);
            }
            fn get(r: &mut $crate::snap::Reader<'_>) -> Result<Self, $crate::snap::SnapError> {
                let all = [$($t::$v),*];
                let i = <u8 as $crate::snap::Snap>::get(r)?;
                all.get(usize::from(i)).copied().ok_or_else(|| r.invalid(stringify!($t)))
            }
        }
    };
}
pub(crate) use snap_enum;

macro_rules! snap_int {
    ($($t:ty),*) => {$(
        impl Snap for $t {
            fn put(&self, w: &mut Vec<u8>) {
                w.extend_from_slice(&self.to_le_bytes());
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
                r.array().map(<$t>::from_le_bytes)
            }
        }
    )*};
}
snap_int!(u8, u16, u32, u64, i64, i128);

impl Snap for usize {
    fn put(&self, w: &mut Vec<u8>) {
        (*self as u64).put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        let at = r.at();
        usize::try_from(u64::get(r)?).map_err(|_| SnapError::Invalid { what: "size", at })
    }
}

impl Snap for bool {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        match u8::get(r)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(r.invalid("flag")),
        }
    }
}

impl<const N: usize> Snap for [u8; N] {
    fn put(&self, w: &mut Vec<u8>) {
        w.extend_from_slice(self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        r.array()
    }
}

impl Snap for String {
    fn put(&self, w: &mut Vec<u8>) {
        self.len().put(w);
        w.extend_from_slice(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        let n = r.len()?;
        let at = r.at();
        let b = r.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| SnapError::Invalid { what: "text", at })
    }
}

impl<T: Snap> Snap for Option<T> {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            None => w.push(0),
            Some(v) => {
                w.push(1);
                v.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        match u8::get(r)? {
            0 => Ok(None),
            1 => T::get(r).map(Some),
            _ => Err(r.invalid("option")),
        }
    }
}

impl<T: Snap> Snap for Box<T> {
    fn put(&self, w: &mut Vec<u8>) {
        (**self).put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        T::get(r).map(Box::new)
    }
}

impl<T: Snap> Snap for Vec<T> {
    fn put(&self, w: &mut Vec<u8>) {
        self.len().put(w);
        for v in self {
            v.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        let n = r.len()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::get(r)?);
        }
        Ok(v)
    }
}

impl<K: Snap + Ord, V: Snap> Snap for BTreeMap<K, V> {
    fn put(&self, w: &mut Vec<u8>) {
        self.len().put(w);
        for (k, v) in self {
            k.put(w);
            v.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        let n = r.len()?;
        let mut m = BTreeMap::new();
        for _ in 0..n {
            let at = r.at();
            let k = K::get(r)?;
            if m.insert(k, V::get(r)?).is_some() {
                return Err(SnapError::Invalid { what: "duplicate key", at });
            }
        }
        Ok(m)
    }
}

/// A heap goes out in its own (deterministic) layout and is rebuilt from it; its pop order
/// depends only on the items' total order.
impl<T: Snap + Ord> Snap for BinaryHeap<T> {
    fn put(&self, w: &mut Vec<u8>) {
        self.len().put(w);
        for v in self.iter() {
            v.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        Vec::<T>::get(r).map(BinaryHeap::from)
    }
}

impl<T: Snap> Snap for std::cmp::Reverse<T> {
    fn put(&self, w: &mut Vec<u8>) {
        self.0.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        T::get(r).map(std::cmp::Reverse)
    }
}

macro_rules! snap_tuple {
    ($($n:tt $t:ident),*) => {
        impl<$($t: Snap),*> Snap for ($($t,)*) {
            fn put(&self, w: &mut Vec<u8>) {
                $( self.$n.put(w); )*
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
                Ok(($($t::get(r)?,)*))
            }
        }
    };
}
snap_tuple!(0 A, 1 B);
snap_tuple!(0 A, 1 B, 2 C);

macro_rules! snap_newtype {
    ($($t:ident),*) => {$(
        impl Snap for $t {
            fn put(&self, w: &mut Vec<u8>) {
                self.0.put(w);
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
                Snap::get(r).map($t)
            }
        }
    )*};
}
snap_newtype!(Price, Qty, Nanos, EventRecord, ActionRecord, BookRecord);

impl Snap for Side {
    fn put(&self, w: &mut Vec<u8>) {
        w.push(self.to_u8());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        let b = u8::get(r)?;
        Side::from_u8(b).ok_or_else(|| r.invalid("side"))
    }
}

snap_struct!(Level { px, qty });
snap_struct!(Quote { bid, ask });

/// An action travels as its ABI record.
impl Snap for Action {
    fn put(&self, w: &mut Vec<u8>) {
        self.encode().put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        let rec = ActionRecord::get(r)?;
        rec.decode().map_err(|_| r.invalid("action record"))
    }
}

/// An event body travels as the ABI record of an event with an empty header.
impl Snap for EventBody {
    fn put(&self, w: &mut Vec<u8>) {
        let h = EventHeader { seq: 0, instrument: 0, exchange_ts: Nanos(0), local_ts: Nanos(0) };
        Event { h, body: *self }.encode().put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, SnapError> {
        let rec = EventRecord::get(r)?;
        rec.decode().map(|e| e.body).map_err(|_| r.invalid("event record"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round<T: Snap + PartialEq + fmt::Debug>(v: T) {
        let mut w = Vec::new();
        v.put(&mut w);
        let mut r = Reader::new(&w);
        assert_eq!(T::get(&mut r).unwrap(), v);
        assert!(r.is_empty());
        for cut in 0..w.len() {
            assert!(T::get(&mut Reader::new(&w[..cut])).is_err(), "cut at {cut} of {}", w.len());
        }
    }

    #[test]
    fn values_come_back_and_every_cut_is_refused() {
        round(vec![(1u64, -2i64), (u64::MAX, i64::MIN)]);
        round(Some(String::from("mm")));
        round(BTreeMap::from([(3u16, Price(5)), (1, Price(-1))]));
        round((true, Qty(7), Side::Sell));
        round(Action::Cancel { instrument: 2, order_id: 9 });
    }

    #[test]
    fn impossible_values_are_refused_with_their_offset() {
        assert_eq!(
            bool::get(&mut Reader::new(&[2])),
            Err(SnapError::Invalid { what: "flag", at: 1 })
        );
        // A length far beyond the bytes that follow never allocates.
        let mut w = Vec::new();
        u64::MAX.put(&mut w);
        assert_eq!(
            Vec::<u64>::get(&mut Reader::new(&w)),
            Err(SnapError::Invalid { what: "length", at: 0 })
        );
        assert!(Side::get(&mut Reader::new(&[9])).is_err());
    }
}
