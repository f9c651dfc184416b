//! Serde adapters for the SDK's unit newtypes, which carry no serde derive of their own.
//! Prices and quantities travel as their raw `i64` mantissa, sides as the ABI byte.

pub(crate) mod price {
    use lockstep_sdk::Price;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &Price, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(v.0)
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Price, D::Error> {
        i64::deserialize(d).map(Price)
    }
}

pub(crate) mod qty {
    use lockstep_sdk::Qty;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &Qty, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(v.0)
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Qty, D::Error> {
        i64::deserialize(d).map(Qty)
    }
}

pub(crate) mod side {
    use lockstep_sdk::Side;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &Side, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(v.to_u8())
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Side, D::Error> {
        let b = u8::deserialize(d)?;
        Side::from_u8(b).ok_or_else(|| D::Error::custom(format!("invalid side byte {b}")))
    }
}

pub(crate) mod opt_side {
    use lockstep_sdk::Side;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &Option<Side>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(v.map_or(0, Side::to_u8))
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Side>, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(None),
            b => Side::from_u8(b)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("invalid side byte {b}"))),
        }
    }
}
