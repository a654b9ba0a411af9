//! The config file's shape as serde reads it, before any value is checked.
//!
//! Every key is an `Option<Field<T>>`: absent, or written somewhere (its byte span in the file)
//! with either a value of the wanted type or a note of what was found instead. A wrong type is
//! therefore not a deserialization error that stops at the first problem: it is kept, with its
//! place, for `validate` to report alongside all the others.
//!
//! Tables are [`Section`]s, which also keep every key written in them with its span. The keys a
//! table allows are the fields of its struct here ([`fields_of`]), so the list the "unknown key"
//! message offers cannot drift from what is read.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use toml::Spanned;

/// A byte range in the config file.
pub type Span = Range<usize>;

/// A key that may be absent.
pub type Opt<T> = Option<Field<T>>;

/// A list whose items each keep their own place.
pub type List<T> = Option<Field<Vec<Field<T>>>>;

/// The whole file.
#[derive(Debug, Deserialize)]
pub struct RawConfig {
    pub database: Opt<Section<RawDatabase>>,
    pub slack: Opt<Section<RawSlack>>,
    pub archive: Opt<Section<RawArchive>>,
    pub team: List<Section<RawTeam>>,
}

/// `[database]`.
#[derive(Debug, Deserialize)]
pub struct RawDatabase {
    pub path: Opt<String>,
    pub url: Opt<String>,
    pub max_size_mb: Opt<i64>,
}

/// `[slack]`.
#[derive(Debug, Deserialize)]
pub struct RawSlack {
    pub api_url: Opt<String>,
}

/// `[archive]`.
#[derive(Debug, Deserialize)]
pub struct RawArchive {
    pub dir: Opt<String>,
    pub git: Opt<bool>,
}

/// One `[[team]]`. The field order is the order the "keys allowed here" message lists them in.
#[derive(Debug, Deserialize)]
pub struct RawTeam {
    pub id: Opt<String>,
    pub name: Opt<String>,
    pub channel: Opt<String>,
    pub format: Opt<String>,
    pub base_format: Opt<String>,
    pub title: Opt<String>,
    pub timezone: Opt<String>,
    pub per_member_timezone: Opt<bool>,
    pub prompt: Opt<String>,
    pub sync: Opt<String>,
    pub post_before: Opt<String>,
    pub remind_after: Opt<String>,
    pub admins: List<String>,
    pub follow_through: Opt<bool>,
    pub planned_vs_done: Opt<bool>,
    pub members: Opt<Members>,
    pub working_days: List<Text>,
    pub holidays: List<Text>,
    pub holidays_file: Opt<String>,
    pub ooo_emoji: List<Text>,
    pub quiet_hours: Opt<String>,
    pub home: Opt<bool>,
    pub onboarding: Opt<bool>,
    pub updates: Opt<String>,
    pub blocker_flags: Opt<String>,
    pub escalate_after: Opt<String>,
    pub leads: List<String>,
    pub resolved_blockers: Opt<bool>,
    pub stats_cycles: Opt<i64>,
    pub stats_in_document: Opt<bool>,
}

/// A team's `members`: a list of member tables, or the channel whose people they are.
#[derive(Debug)]
pub enum Members {
    List(Vec<Field<Section<RawMember>>>),
    Channel(String),
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MembersVisitor)
    }
}

/// Reads the list straight from the file's sequence (not buffered, as `#[serde(untagged)]`
/// would), so each member keeps its span.
struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of members or a channel")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Members, E> {
        Ok(Members::Channel(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Members, E> {
        Ok(Members::Channel(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Members, A::Error> {
        Vec::deserialize(SeqAccessDeserializer::new(seq)).map(Members::List)
    }
}

/// One entry of a team's `members`.
#[derive(Debug, Deserialize)]
pub struct RawMember {
    pub user: Opt<String>,
    pub handle: Opt<String>,
    pub quiet_hours: Opt<String>,
}

/// What was written where a value of another type was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    String,
    Number,
    Boolean,
    List,
    /// serde sees a TOML date as a one-entry table; the text at the span tells them apart.
    TableOrDate,
}

/// One value as written: where, and the value if it has the wanted type.
#[derive(Debug)]
pub struct Field<T> {
    pub span: Span,
    pub value: Result<T, Found>,
}

impl<T> Field<T> {
    /// The value when it has the wanted type.
    pub fn ok(&self) -> Option<&T> {
        self.value.as_ref().ok()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Lenient<T>>::deserialize(deserializer)?;
        Ok(Field {
            span: spanned.span(),
            value: spanned.into_inner().0,
        })
    }
}

/// A value read as whatever it is, then as `T`; a mismatch is recorded instead of failing.
struct Lenient<T>(Result<T, Found>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<T>(PhantomData<T>);

/// `T` from a scalar the visitor was handed; any error means the types differ.
fn scalar<'de, T, S, E>(value: S, found: Found) -> Result<Lenient<T>, E>
where
    T: Deserialize<'de>,
    S: IntoDeserializer<'de, de::value::Error>,
{
    Ok(Lenient(
        T::deserialize(value.into_deserializer()).map_err(|_| found),
    ))
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        scalar(v, Found::Boolean)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        scalar(v, Found::Number)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        scalar(v, Found::Number)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        scalar(v, Found::Number)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        scalar(v.to_string(), Found::String)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        scalar(v, Found::String)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        // Items are `Field`s themselves, so a bad item is kept, not an error here.
        Ok(Lenient(
            T::deserialize(SeqAccessDeserializer::new(seq)).map_err(|_| Found::List),
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(Lenient(
            T::deserialize(MapAccessDeserializer::new(map)).map_err(|_| Found::TableOrDate),
        ))
    }
}

/// A table's struct, and every key written in it with the key's own span.
#[derive(Debug)]
pub struct Section<T> {
    pub value: T,
    pub keys: Vec<Spanned<String>>,
}

impl<T: DeserializeOwned> Section<T> {
    /// The keys written here that `T` has no field for.
    pub fn unknown_keys(&self) -> impl Iterator<Item = &Spanned<String>> {
        let known = fields_of::<T>();
        self.keys
            .iter()
            .filter(move |k| !known.contains(&k.get_ref().as_str()))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Section<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SectionVisitor(PhantomData))
    }
}

struct SectionVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for SectionVisitor<T> {
    type Value = Section<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut keys = Vec::new();
        let value = T::deserialize(MapAccessDeserializer::new(KeyRecorder {
            map,
            keys: &mut keys,
        }))?;
        Ok(Section { value, keys })
    }
}

/// Passes a table's entries on, noting each key and where it is written.
struct KeyRecorder<'k, A> {
    map: A,
    keys: &'k mut Vec<Spanned<String>>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for KeyRecorder<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.map.next_key::<Spanned<String>>()? else {
            return Ok(None);
        };
        let name: String = key.get_ref().clone();
        let value = seed.deserialize(IntoDeserializer::<'de, A::Error>::into_deserializer(name))?;
        self.keys.push(key);
        Ok(Some(value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A list item that is text: a string, or a TOML date written without quotes (which is what
/// people mean by a date), as its text.
#[derive(Debug)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a date")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
        let date = toml::value::Datetime::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Text(date.to_string()))
    }
}

/// The keys a table allows: the field names serde derived for `T`, in declaration order.
///
/// Found by handing `T` a deserializer that only notes the field list serde passes it.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'f>(&'f mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields noted"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}
