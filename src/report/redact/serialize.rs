//! A report model redacted while it is serialised: every string goes through the
//! [`Redactor`] on its way to the serialiser, so that nothing of the report is copied (the JSON
//! of a report of a million handles is larger than the report).
//!
//! Strings are rewritten wherever serde writes one (`str`, `char`, unit variants); map keys,
//! struct field names and variant names written as keys stay.

use super::Redactor;
use serde::ser::{self, Serialize, Serializer};
use std::borrow::Cow;
use std::cell::RefCell;

/// A report model that serialises redacted: see [`Redactor::json_of`].
pub struct Redacted<'a, M: ?Sized> {
    pub(super) model: &'a M,
    pub(super) redactor: RefCell<&'a mut Redactor>,
    /// Why learning the model's object names failed (serialising it failed).
    pub(super) failed: Option<String>,
}

impl<M: Serialize + ?Sized> Serialize for Redacted<'_, M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(error) = &self.failed {
            return Err(ser::Error::custom(error));
        }
        self.model.serialize(Rewrite {
            inner: serializer,
            redactor: &self.redactor,
        })
    }
}

/// Wraps a serialiser (or one of its compound serialisers) and redacts what goes through.
struct Rewrite<'r, 'a, S> {
    inner: S,
    redactor: &'r RefCell<&'a mut Redactor>,
}

/// A value to serialise through [`Rewrite`].
struct Wrap<'r, 'a, T: ?Sized> {
    value: &'r T,
    redactor: &'r RefCell<&'a mut Redactor>,
}

impl<T: Serialize + ?Sized> Serialize for Wrap<'_, '_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(Rewrite {
            inner: serializer,
            redactor: self.redactor,
        })
    }
}

impl<'r, 'a, S> Rewrite<'r, 'a, S> {
    fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        self.redactor.borrow_mut().rewrite(text)
    }

    fn wrap<'v, T: ?Sized>(&self, value: &'v T) -> Wrap<'v, 'a, T>
    where
        'r: 'v,
    {
        Wrap {
            value,
            redactor: self.redactor,
        }
    }
}

/// Serialiser methods whose value has no string: forwarded as they are.
macro_rules! forward {
    ($($method:ident($type:ty);)*) => {$(
        fn $method(self, value: $type) -> Result<S::Ok, S::Error> {
            self.inner.$method(value)
        }
    )*};
}

impl<'r, 'a, S: Serializer> Serializer for Rewrite<'r, 'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Rewrite<'r, 'a, S::SerializeSeq>;
    type SerializeTuple = Rewrite<'r, 'a, S::SerializeTuple>;
    type SerializeTupleStruct = Rewrite<'r, 'a, S::SerializeTupleStruct>;
    type SerializeTupleVariant = Rewrite<'r, 'a, S::SerializeTupleVariant>;
    type SerializeMap = Rewrite<'r, 'a, S::SerializeMap>;
    type SerializeStruct = Rewrite<'r, 'a, S::SerializeStruct>;
    type SerializeStructVariant = Rewrite<'r, 'a, S::SerializeStructVariant>;

    forward! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_i128(i128); serialize_u8(u8); serialize_u16(u16);
        serialize_u32(u32); serialize_u64(u64); serialize_u128(u128); serialize_f32(f32);
        serialize_f64(f64); serialize_bytes(&[u8]); serialize_unit_struct(&'static str);
    }

    fn serialize_char(self, value: char) -> Result<S::Ok, S::Error> {
        let mut buffer = [0; 4];
        match self.redact(value.encode_utf8(&mut buffer)) {
            Cow::Borrowed(_) => self.inner.serialize_char(value),
            Cow::Owned(text) => self.inner.serialize_str(&text),
        }
    }

    fn serialize_str(self, value: &str) -> Result<S::Ok, S::Error> {
        let text = self.redact(value);
        self.inner.serialize_str(&text)
    }

    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_none()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        let value = self.wrap(value);
        self.inner.serialize_some(&value)
    }

    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.inner.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        // Written as a string: redacted as one.
        match self.redact(variant) {
            Cow::Borrowed(_) => self.inner.serialize_unit_variant(name, index, variant),
            Cow::Owned(text) => self.inner.serialize_str(&text),
        }
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let value = self.wrap(value);
        self.inner.serialize_newtype_struct(name, &value)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        let value = self.wrap(value);
        self.inner
            .serialize_newtype_variant(name, index, variant, &value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        let inner = self.inner.serialize_seq(len)?;
        Ok(Rewrite {
            inner,
            redactor: self.redactor,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        let inner = self.inner.serialize_tuple(len)?;
        Ok(Rewrite {
            inner,
            redactor: self.redactor,
        })
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        let inner = self.inner.serialize_tuple_struct(name, len)?;
        Ok(Rewrite {
            inner,
            redactor: self.redactor,
        })
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        let inner = self
            .inner
            .serialize_tuple_variant(name, index, variant, len)?;
        Ok(Rewrite {
            inner,
            redactor: self.redactor,
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        let inner = self.inner.serialize_map(len)?;
        Ok(Rewrite {
            inner,
            redactor: self.redactor,
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        let inner = self.inner.serialize_struct(name, len)?;
        Ok(Rewrite {
            inner,
            redactor: self.redactor,
        })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        let inner = self
            .inner
            .serialize_struct_variant(name, index, variant, len)?;
        Ok(Rewrite {
            inner,
            redactor: self.redactor,
        })
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The compound serialisers: their elements and values are redacted, their keys stay.
macro_rules! compound {
    ($trait:ident, $method:ident) => {
        impl<S: ser::$trait> ser::$trait for Rewrite<'_, '_, S> {
            type Ok = S::Ok;
            type Error = S::Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
                let value = self.wrap(value);
                self.inner.$method(&value)
            }

            fn end(self) -> Result<S::Ok, S::Error> {
                self.inner.end()
            }
        }
    };
    ($trait:ident, $method:ident, keyed) => {
        impl<S: ser::$trait> ser::$trait for Rewrite<'_, '_, S> {
            type Ok = S::Ok;
            type Error = S::Error;

            fn $method<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), S::Error> {
                let value = self.wrap(value);
                self.inner.$method(key, &value)
            }

            fn end(self) -> Result<S::Ok, S::Error> {
                self.inner.end()
            }
        }
    };
}

compound!(SerializeSeq, serialize_element);
compound!(SerializeTuple, serialize_element);
compound!(SerializeTupleStruct, serialize_field);
compound!(SerializeTupleVariant, serialize_field);
compound!(SerializeStruct, serialize_field, keyed);
compound!(SerializeStructVariant, serialize_field, keyed);

impl<S: ser::SerializeMap> ser::SerializeMap for Rewrite<'_, '_, S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), S::Error> {
        self.inner.serialize_key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        let value = self.wrap(value);
        self.inner.serialize_value(&value)
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.inner.end()
    }
}
