//! The first pass of redacting a model with object names: serialising it to nothing, learning
//! the name of each object (a string `name` beside a string `type`, as its JSON has them) in
//! the order they come. Nothing of the model is copied but the names learned.

use super::Redactor;
use serde::ser::{self, Impossible, Serialize, Serializer};

/// Why learning failed: the model's own serialisation failed.
pub(super) type Error = serde_json::Error;

/// What a value serialised as, as far as learning needs.
pub(super) enum Seen {
    /// A string: kept when it was asked for (the value of a `name`).
    Text(Option<String>),
    /// Anything else.
    Other,
}

/// Serialises a model to nothing but the object names it teaches the redactor.
pub(super) struct Learner<'r> {
    pub(super) redactor: &'r mut Redactor,
    /// Whether this value is a `name` (a string is then kept).
    pub(super) keep: bool,
}

impl<'r> Learner<'r> {
    fn text(self, text: &str) -> Result<Seen, Error> {
        Ok(Seen::Text(self.keep.then(|| text.to_string())))
    }

    fn object(self) -> Object<'r> {
        Object {
            redactor: self.redactor,
            name: None,
            typed: false,
            key: Key::Other,
        }
    }
}

/// Which field of an object a value is.
#[derive(Clone, Copy, PartialEq)]
enum Key {
    Name,
    Type,
    Other,
}

impl Key {
    fn of(key: &str) -> Key {
        match key {
            "name" => Key::Name,
            "type" => Key::Type,
            _ => Key::Other,
        }
    }
}

/// An object (or sequence) being serialised: its `name` and whether it has a `type`.
pub(super) struct Object<'r> {
    redactor: &'r mut Redactor,
    name: Option<String>,
    typed: bool,
    /// The key of the map value to come.
    key: Key,
}

impl Object<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.field(Key::Other, value)
    }

    /// Serialises the field `key`; learns the object's name once it has a `name` and a
    /// `type` that are strings.
    fn field<T: Serialize + ?Sized>(&mut self, key: Key, value: &T) -> Result<(), Error> {
        let seen = value.serialize(Learner {
            redactor: self.redactor,
            keep: key == Key::Name,
        })?;
        match (key, seen) {
            (Key::Name, Seen::Text(name)) => self.name = name,
            (Key::Type, Seen::Text(_)) => self.typed = true,
            _ => return Ok(()),
        }
        if self.typed {
            if let Some(name) = self.name.take() {
                self.redactor.learn_name(&name);
            }
        }
        Ok(())
    }
}

/// Serialiser methods whose value is not a string.
macro_rules! other {
    ($($method:ident($type:ty);)*) => {$(
        fn $method(self, _: $type) -> Result<Seen, Error> {
            Ok(Seen::Other)
        }
    )*};
}

/// The methods of [`Serializer`] that look through to the value (or find none): the same in
/// the value and the key serialiser.
macro_rules! see_through {
    ($ok:ident) => {
        fn serialize_none(self) -> Result<$ok, Error> {
            Ok($ok::Other)
        }

        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<$ok, Error> {
            value.serialize(self)
        }

        fn serialize_unit(self) -> Result<$ok, Error> {
            Ok($ok::Other)
        }

        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            value: &T,
        ) -> Result<$ok, Error> {
            value.serialize(self)
        }
    };
}

/// The methods of [`Serializer`] that start a compound value: each learns from an [`Object`].
macro_rules! compounds {
    ($($method:ident($($argument:ty),*);)*) => {$(
        fn $method(self, $(_: $argument),*) -> Result<Object<'r>, Error> {
            Ok(self.object())
        }
    )*};
}

impl<'r> Serializer for Learner<'r> {
    type Ok = Seen;
    type Error = Error;
    type SerializeSeq = Object<'r>;
    type SerializeTuple = Object<'r>;
    type SerializeTupleStruct = Object<'r>;
    type SerializeTupleVariant = Object<'r>;
    type SerializeMap = Object<'r>;
    type SerializeStruct = Object<'r>;
    type SerializeStructVariant = Object<'r>;

    other! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_i128(i128); serialize_u8(u8); serialize_u16(u16);
        serialize_u32(u32); serialize_u64(u64); serialize_u128(u128); serialize_f32(f32);
        serialize_f64(f64); serialize_bytes(&[u8]); serialize_unit_struct(&'static str);
    }

    fn serialize_char(self, value: char) -> Result<Seen, Error> {
        self.text(value.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, value: &str) -> Result<Seen, Error> {
        self.text(value)
    }

    see_through!(Seen);

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Seen, Error> {
        self.text(variant)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<Seen, Error> {
        // `{"variant": value}`: an object of one field.
        let mut object = self.object();
        object.element(value)?;
        Ok(Seen::Other)
    }

    // Sequences, tuples, maps and structs are all learned from alike.
    compounds! {
        serialize_seq(Option<usize>);
        serialize_tuple(usize);
        serialize_tuple_struct(&'static str, usize);
        serialize_tuple_variant(&'static str, u32, &'static str, usize);
        serialize_map(Option<usize>);
        serialize_struct(&'static str, usize);
        serialize_struct_variant(&'static str, u32, &'static str, usize);
    }
}

/// Compound serialisers of sequences: each element is learned from.
macro_rules! elements {
    ($($trait:ident, $method:ident;)*) => {$(
        impl ser::$trait for Object<'_> {
            type Ok = Seen;
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }

            fn end(self) -> Result<Seen, Error> {
                Ok(Seen::Other)
            }
        }
    )*};
}

elements! {
    SerializeSeq, serialize_element;
    SerializeTuple, serialize_element;
    SerializeTupleStruct, serialize_field;
    SerializeTupleVariant, serialize_field;
}

/// Compound serialisers of structs: each field is learned from, by its name.
macro_rules! fields {
    ($($trait:ident;)*) => {$(
        impl ser::$trait for Object<'_> {
            type Ok = Seen;
            type Error = Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(Key::of(key), value)
            }

            fn end(self) -> Result<Seen, Error> {
                Ok(Seen::Other)
            }
        }
    )*};
}

fields! {
    SerializeStruct;
    SerializeStructVariant;
}

impl ser::SerializeMap for Object<'_> {
    type Ok = Seen;
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = key.serialize(KeyName)?;
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = std::mem::replace(&mut self.key, Key::Other);
        self.field(key, value)
    }

    fn end(self) -> Result<Seen, Error> {
        Ok(Seen::Other)
    }
}

/// Which field a map key names (only a string key can be `name` or `type`).
struct KeyName;

/// Key serialiser methods that cannot name `name` or `type`.
macro_rules! not_named {
    ($($method:ident($type:ty);)*) => {$(
        fn $method(self, _: $type) -> Result<Key, Error> {
            Ok(Key::Other)
        }
    )*};
}

impl Serializer for KeyName {
    type Ok = Key;
    type Error = Error;
    type SerializeSeq = Impossible<Key, Error>;
    type SerializeTuple = Impossible<Key, Error>;
    type SerializeTupleStruct = Impossible<Key, Error>;
    type SerializeTupleVariant = Impossible<Key, Error>;
    type SerializeMap = Impossible<Key, Error>;
    type SerializeStruct = Impossible<Key, Error>;
    type SerializeStructVariant = Impossible<Key, Error>;

    not_named! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_i128(i128); serialize_u8(u8); serialize_u16(u16);
        serialize_u32(u32); serialize_u64(u64); serialize_u128(u128); serialize_f32(f32);
        serialize_f64(f64); serialize_char(char); serialize_bytes(&[u8]);
        serialize_unit_struct(&'static str);
    }

    fn serialize_str(self, value: &str) -> Result<Key, Error> {
        Ok(Key::of(value))
    }

    see_through!(Key);

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Key, Error> {
        Ok(Key::of(variant))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Key, Error> {
        Err(ser::Error::custom("a map key must be a string"))
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(ser::Error::custom("a map key must be a string"))
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(ser::Error::custom("a map key must be a string"))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(ser::Error::custom("a map key must be a string"))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(ser::Error::custom("a map key must be a string"))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(ser::Error::custom("a map key must be a string"))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(ser::Error::custom("a map key must be a string"))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(ser::Error::custom("a map key must be a string"))
    }
}
