//! The file as written: serde structs mirroring the TOML tables, read one table at a time so
//! that every unknown key and every ill-typed value is reported with its key path.
//!
//! The document is first parsed into toml's spanned tree (`DeTable`), which survives syntax
//! errors well enough to point at them. Each table is then deserialized on its own into a
//! `#[serde(deny_unknown_fields)]` struct; arrays of tables (`[[subnet.pool]]`, …) are split
//! off and read element by element, so one bad pool does not hide the errors of the next.

use std::ops::Range;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::ConfigError;

// === Report ===

/// Collects every problem found, in the order found; knows the text for line/column numbers.
pub(super) struct Report<'t> {
    text: &'t str,
    errors: Vec<ConfigError>,
}

impl<'t> Report<'t> {
    /// An empty report over `text`.
    pub(super) fn new(text: &'t str) -> Self {
        Self {
            text,
            errors: Vec::new(),
        }
    }

    /// Records a problem at `path`.
    pub(super) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// Records a problem the toml crate found (or one located by a span), prefixing the
    /// message with its line and column.
    fn located(&mut self, path: &str, span: Option<Range<usize>>, message: &str) {
        // toml messages are one line in practice; keep check-config output one line per error.
        // serde names Rust types; say what the TOML should hold instead.
        let message = message
            .trim()
            .replace('\n', "; ")
            .replace("expected a sequence", "expected an array")
            .replace("expected i64", "expected an integer");
        let message = match span {
            Some(span) => {
                let (line, column) = line_column(self.text, span.start);
                format!("line {line}, column {column}: {message}")
            }
            None => message,
        };
        self.error(path, message);
    }

    /// How many problems so far (callers compare before/after to know if a part was clean).
    pub(super) fn count(&self) -> usize {
        self.errors.len()
    }

    /// True when an error was already reported at `path` or below it.
    pub(super) fn has_error_at(&self, path: &str) -> bool {
        self.errors.iter().any(|e| {
            e.path
                .strip_prefix(path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    /// The problems, in the order found.
    pub(super) fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

// === key paths ===

/// `path.key`, or `key` at the top level.
pub(super) fn key_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `path[index]`.
pub(super) fn index_path(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// Whether `span` covers byte `offset` (an empty span covers its start).
fn covers(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// The deepest key path under `value` (itself at `path`) whose key or value covers `offset`.
/// Children are searched even when a parent's span does not cover them: tables opened by a
/// `[header]` are spanned by their header only.
fn find_path(value: &Spanned<DeValue<'_>>, path: &str, offset: usize) -> Option<String> {
    match value.get_ref() {
        DeValue::Table(table) => {
            for (key, child) in table.iter() {
                let child_path = key_path(path, key.get_ref());
                if covers(&key.span(), offset) {
                    return Some(child_path);
                }
                if let Some(found) = find_path(child, &child_path, offset) {
                    return Some(found);
                }
            }
        }
        DeValue::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                if let Some(found) = find_path(child, &index_path(path, i), offset) {
                    return Some(found);
                }
            }
        }
        _ => {}
    }
    covers(&value.span(), offset).then(|| path.to_owned())
}

/// The path of the last key that starts at or before `offset`, and where it starts.
fn preceding_key(
    value: &Spanned<DeValue<'_>>,
    path: &str,
    offset: usize,
) -> Option<(usize, String)> {
    let mut best: Option<(usize, String)> = None;
    let mut consider = |candidate: Option<(usize, String)>| {
        if let Some(c) = candidate
            && best.as_ref().is_none_or(|b| c.0 >= b.0)
        {
            best = Some(c);
        }
    };
    match value.get_ref() {
        DeValue::Table(table) => {
            for (key, child) in table.iter() {
                let child_path = key_path(path, key.get_ref());
                if key.span().start <= offset {
                    consider(Some((key.span().start, child_path.clone())));
                }
                consider(preceding_key(child, &child_path, offset));
            }
        }
        DeValue::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                consider(preceding_key(child, &index_path(path, i), offset));
            }
        }
        _ => {}
    }
    best
}

/// Best-effort key path for a byte offset: the node covering it, else the table holding the
/// nearest key before it (syntax errors often sit where no node was built).
fn locate(root: &Spanned<DeValue<'_>>, path: &str, offset: usize) -> String {
    if let Some(found) = find_path(root, path, offset) {
        return found;
    }
    match preceding_key(root, path, offset) {
        Some((_, key)) => match key.rfind('.') {
            Some(dot) if dot >= path.len() => key[..dot].to_owned(),
            _ => path.to_owned(),
        },
        None => path.to_owned(),
    }
}

// === raw tables ===

/// A duration as written: an integer number of seconds or a string such as `"1h30m"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum RawDuration {
    /// `lease_time = 600`.
    Seconds(i64),
    /// `lease_time = "10m"`.
    Text(String),
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = RawDuration;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    r#"a duration such as "30s", "10m", "1h" or an integer number of seconds"#,
                )
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawDuration, E> {
                Ok(RawDuration::Seconds(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawDuration, E> {
                Ok(RawDuration::Seconds(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration::Text(v.to_owned()))
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// `[server]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub interfaces: Option<Vec<String>>,
    pub server_id: Option<String>,
    pub offer_timeout: Option<RawDuration>,
    pub decline_hold: Option<RawDuration>,
    pub receive_buffer: Option<i64>,
    pub udp_gso: Option<bool>,
    pub log_format: Option<String>,
    pub log_level: Option<String>,
    pub rate_limit: Option<RawRateLimit>,
}

/// `[server.rate_limit]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub per_mac: Option<String>,
    pub per_link: Option<String>,
    pub global: Option<String>,
}

/// `[store]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub path: Option<String>,
    pub history_retention: Option<RawDuration>,
}

/// Keys of a subnet table holding arrays of tables, read element by element.
const SUBNET_NESTED: &[&str] = &["pool", "reservation", "classless_routes", "option"];
/// Keys of a reservation table holding arrays of tables.
const RESERVATION_NESTED: &[&str] = &["classless_routes", "option"];

/// `[[subnet]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubnet {
    pub cidr: Option<String>,
    pub shared_network: Option<String>,
    pub always_send: Option<Vec<i64>>,
    pub interface: Option<String>,
    pub lease_time: Option<RawDuration>,
    pub renewal_time: Option<RawDuration>,
    pub rebinding_time: Option<RawDuration>,
    pub broadcast_address: Option<String>,
    pub routers: Option<Vec<String>>,
    pub dns_servers: Option<Vec<String>>,
    pub domain_name: Option<String>,
    pub domain_search: Option<Vec<String>>,
    pub ntp_servers: Option<Vec<String>>,
    pub mtu: Option<i64>,
    /// `[[subnet.pool]]`, `None` where an element could not be read.
    #[serde(skip)]
    pub pool: Vec<Option<RawPool>>,
    /// `[[subnet.reservation]]`.
    #[serde(skip)]
    pub reservation: Vec<Option<RawReservation>>,
    /// `classless_routes`, `None` when the key is absent.
    #[serde(skip)]
    pub classless_routes: Option<Vec<Option<RawRoute>>>,
    /// `[[subnet.option]]`.
    #[serde(skip)]
    pub option: Vec<Option<RawOption>>,
}

/// `[[subnet.pool]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPool {
    pub start: Option<String>,
    pub end: Option<String>,
    pub bootp: Option<bool>,
    pub classes: Option<Vec<String>>,
}

/// `[[subnet.reservation]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReservation {
    pub mac: Option<String>,
    pub client_id: Option<String>,
    pub circuit_id: Option<String>,
    pub remote_id: Option<String>,
    pub subscriber_id: Option<String>,
    pub ip: Option<String>,
    pub hostname: Option<String>,
    pub routers: Option<Vec<String>>,
    pub dns_servers: Option<Vec<String>>,
    pub domain_name: Option<String>,
    pub domain_search: Option<Vec<String>>,
    pub ntp_servers: Option<Vec<String>>,
    pub mtu: Option<i64>,
    /// `classless_routes`, `None` when the key is absent.
    #[serde(skip)]
    pub classless_routes: Option<Vec<Option<RawRoute>>>,
    /// `[[subnet.reservation.option]]`.
    #[serde(skip)]
    pub option: Vec<Option<RawOption>>,
}

/// `[[class]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClass {
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub matcher: Option<RawClassMatch>,
    pub next_server: Option<String>,
    pub boot_file: Option<String>,
    pub tftp_server_name: Option<String>,
    pub always_send: Option<Vec<i64>>,
    pub routers: Option<Vec<String>>,
    pub dns_servers: Option<Vec<String>>,
    pub domain_name: Option<String>,
    pub domain_search: Option<Vec<String>>,
    pub ntp_servers: Option<Vec<String>>,
    pub mtu: Option<i64>,
    /// `classless_routes`, `None` when the key is absent.
    #[serde(skip)]
    pub classless_routes: Option<Vec<Option<RawRoute>>>,
    /// `[[class.option]]`.
    #[serde(skip)]
    pub option: Vec<Option<RawOption>>,
}

/// `class.match`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClassMatch {
    pub vendor_class: Option<String>,
    pub user_class: Option<String>,
    pub mac_prefix: Option<String>,
    pub circuit_id: Option<String>,
    pub remote_id: Option<String>,
    pub subscriber_id: Option<String>,
    pub hostname: Option<String>,
    pub client_arch: Option<i64>,
}

impl RawClass {
    /// The option keys of this class.
    pub(super) fn option_keys(&self) -> OptionKeys<'_> {
        OptionKeys {
            routers: self.routers.as_deref(),
            dns_servers: self.dns_servers.as_deref(),
            domain_name: self.domain_name.as_deref(),
            domain_search: self.domain_search.as_deref(),
            ntp_servers: self.ntp_servers.as_deref(),
            mtu: self.mtu,
            classless_routes: self.classless_routes.as_deref(),
            option: &self.option,
        }
    }
}

/// One `classless_routes` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub destination: Option<String>,
    pub gateway: Option<String>,
}

/// One `[[subnet.option]]`: a custom option.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOption {
    pub code: Option<i64>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<toml::Value>,
}

/// The per-client option keys shared by subnets and reservations.
pub(super) struct OptionKeys<'a> {
    pub routers: Option<&'a [String]>,
    pub dns_servers: Option<&'a [String]>,
    pub domain_name: Option<&'a str>,
    pub domain_search: Option<&'a [String]>,
    pub ntp_servers: Option<&'a [String]>,
    pub mtu: Option<i64>,
    pub classless_routes: Option<&'a [Option<RawRoute>]>,
    pub option: &'a [Option<RawOption>],
}

impl RawSubnet {
    /// The option keys of this subnet.
    pub(super) fn option_keys(&self) -> OptionKeys<'_> {
        OptionKeys {
            routers: self.routers.as_deref(),
            dns_servers: self.dns_servers.as_deref(),
            domain_name: self.domain_name.as_deref(),
            domain_search: self.domain_search.as_deref(),
            ntp_servers: self.ntp_servers.as_deref(),
            mtu: self.mtu,
            classless_routes: self.classless_routes.as_deref(),
            option: &self.option,
        }
    }
}

impl RawReservation {
    /// The option keys of this reservation.
    pub(super) fn option_keys(&self) -> OptionKeys<'_> {
        OptionKeys {
            routers: self.routers.as_deref(),
            dns_servers: self.dns_servers.as_deref(),
            domain_name: self.domain_name.as_deref(),
            domain_search: self.domain_search.as_deref(),
            ntp_servers: self.ntp_servers.as_deref(),
            mtu: self.mtu,
            classless_routes: self.classless_routes.as_deref(),
            option: &self.option,
        }
    }
}

/// The whole document as read; `None` entries could not be read at all (already reported).
#[derive(Debug, Default)]
pub(super) struct RawDocument {
    /// `[server]`, `None` when absent.
    pub server: Option<RawServer>,
    /// `[store]`, `None` when absent.
    pub store: Option<RawStore>,
    /// `[[subnet]]`, `None` when absent.
    pub subnet: Option<Vec<Option<RawSubnet>>>,
    /// `[hooks]` (`[[hooks.script]]`, `[[hooks.webhook]]`), `None` when absent.
    pub hooks: Option<super::hooks::RawHooks>,
    /// `[events]`, `None` when absent.
    pub events: Option<super::hooks::RawEvents>,
    /// `[metrics]`, `None` when absent.
    pub metrics: Option<super::hooks::RawMetrics>,
    /// `[conflict_detection]`, `None` when absent.
    pub conflict_detection: Option<super::conflict::RawConflictDetection>,
    /// `[[class]]`, empty when absent.
    pub class: Vec<Option<RawClass>>,
}

// === reading ===

/// Parses `text` and reads every table; `None` when the TOML itself is malformed (each syntax
/// error reported with its line, column and best-guess key path).
pub(super) fn read_document(report: &mut Report<'_>, text: &str) -> Option<RawDocument> {
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    let root = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
    if !syntax_errors.is_empty() {
        for e in syntax_errors {
            let path = e
                .span()
                .map_or_else(String::new, |s| locate(&root, "", s.start));
            report.located(&path, e.span(), e.message());
        }
        return None;
    }
    let mut doc = RawDocument::default();
    let DeValue::Table(table) = root.get_ref() else {
        return Some(doc);
    };
    for (key, value) in table.iter() {
        match key.get_ref().as_ref() {
            "server" => doc.server = read_table(report, value, "server", &[]),
            "store" => doc.store = read_table(report, value, "store", &[]),
            "subnet" => doc.subnet = Some(read_array(report, value, "subnet", read_subnet)),
            "class" => doc.class = read_array(report, value, "class", read_class),
            "hooks" => doc.hooks = super::hooks::read_hooks(report, value),
            "events" => doc.events = read_table(report, value, "events", &[]),
            "metrics" => doc.metrics = read_table(report, value, "metrics", &[]),
            "conflict_detection" => {
                doc.conflict_detection = read_table(report, value, "conflict_detection", &[]);
            }
            other => unknown_key(
                report,
                "",
                other,
                key.span(),
                &[
                    "class",
                    "conflict_detection",
                    "events",
                    "hooks",
                    "metrics",
                    "server",
                    "store",
                    "subnet",
                ],
            ),
        }
    }
    Some(doc)
}

fn read_subnet(
    report: &mut Report<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Option<RawSubnet> {
    let mut subnet: RawSubnet = read_table(report, value, path, SUBNET_NESTED)?;
    let table = value.get_ref().as_table()?;
    if let Some(v) = table.get("pool") {
        subnet.pool = read_array(report, v, &key_path(path, "pool"), read_leaf);
    }
    if let Some(v) = table.get("reservation") {
        subnet.reservation =
            read_array(report, v, &key_path(path, "reservation"), read_reservation);
    }
    (subnet.classless_routes, subnet.option) = read_routes_and_options(report, table, path);
    Some(subnet)
}

/// The two arrays of tables that subnets, classes and reservations share: `classless_routes`
/// and `option`, each element read on its own so one bad element hides no other error.
fn read_routes_and_options(
    report: &mut Report<'_>,
    table: &DeTable<'_>,
    path: &str,
) -> (Option<Vec<Option<RawRoute>>>, Vec<Option<RawOption>>) {
    let routes = table
        .get("classless_routes")
        .map(|v| read_array(report, v, &key_path(path, "classless_routes"), read_leaf));
    let options = table
        .get("option")
        .map(|v| read_array(report, v, &key_path(path, "option"), read_leaf))
        .unwrap_or_default();
    (routes, options)
}

fn read_class(
    report: &mut Report<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Option<RawClass> {
    let mut class: RawClass = read_table(report, value, path, RESERVATION_NESTED)?;
    let table = value.get_ref().as_table()?;
    (class.classless_routes, class.option) = read_routes_and_options(report, table, path);
    Some(class)
}

fn read_reservation(
    report: &mut Report<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Option<RawReservation> {
    let mut reservation: RawReservation = read_table(report, value, path, RESERVATION_NESTED)?;
    let table = value.get_ref().as_table()?;
    (reservation.classless_routes, reservation.option) =
        read_routes_and_options(report, table, path);
    Some(reservation)
}

/// Reads a table with no nested arrays of tables.
pub(super) fn read_leaf<T: DeserializeOwned>(
    report: &mut Report<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Option<T> {
    read_table(report, value, path, &[])
}

/// Reads an array of tables element by element, keeping indices aligned with the file.
pub(super) fn read_array<T>(
    report: &mut Report<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
    mut read: impl FnMut(&mut Report<'_>, &Spanned<DeValue<'_>>, &str) -> Option<T>,
) -> Vec<Option<T>> {
    let DeValue::Array(items) = value.get_ref() else {
        let found = value.get_ref().type_str();
        report.located(
            path,
            Some(value.span()),
            &format!("expected an array of tables, found {found}"),
        );
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| read(report, item, &index_path(path, i)))
        .collect()
}

/// Deserializes one table into `T` (`deny_unknown_fields`), skipping the `nested` keys the
/// caller reads itself. Every unknown key is reported; every ill-typed value is reported and
/// then left out (so the field reads as absent), until the rest deserializes.
pub(super) fn read_table<T: DeserializeOwned>(
    report: &mut Report<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
    nested: &[&'static str],
) -> Option<T> {
    let DeValue::Table(table) = value.get_ref() else {
        let found = value.get_ref().type_str();
        report.located(
            path,
            Some(value.span()),
            &format!("expected a table, found {found}"),
        );
        return None;
    };
    let fields = struct_fields::<T>();
    let mut known = DeTable::new();
    for (key, child) in table.iter() {
        let name: &str = key.get_ref();
        if nested.contains(&name) {
            continue;
        }
        if fields.contains(&name) {
            known.insert(key.clone(), child.clone());
        } else {
            let expected: Vec<&str> = fields.iter().chain(nested).copied().collect();
            unknown_key(report, path, name, key.span(), &expected);
        }
    }
    // Each round either succeeds or removes the key whose value failed, so this ends.
    loop {
        let current = Spanned::new(value.span(), DeValue::Table(known.clone()));
        match T::deserialize(ValueDeserializer::from(current.clone())) {
            Ok(parsed) => return Some(parsed),
            Err(e) => {
                let offset = e.span().map(|s| s.start);
                let culprit = offset.and_then(|off| {
                    known
                        .iter()
                        .find(|(k, v)| covers(&k.span(), off) || find_path(v, "", off).is_some())
                        .map(|(k, _)| k.get_ref().to_string())
                });
                let located =
                    offset.map_or_else(|| path.to_owned(), |off| locate(&current, path, off));
                report.located(&located, e.span(), e.message());
                known.remove(culprit?.as_str())?;
            }
        }
    }
}

fn unknown_key(
    report: &mut Report<'_>,
    path: &str,
    key: &str,
    span: Range<usize>,
    expected: &[&str],
) {
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    report.located(
        &key_path(path, key),
        Some(span),
        &format!(
            "unknown key `{key}`; expected one of: {}",
            expected.join(", ")
        ),
    );
}

/// The field names serde's derive generated for `T` (what `deny_unknown_fields` accepts),
/// captured by a deserializer that records the `fields` argument and stops.
fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    struct FieldCapture<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for FieldCapture<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("fields captured"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    // The capture always "fails" once it has the names; the error carries nothing.
    let _ = T::deserialize(FieldCapture(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // "bé " is 4 bytes but 3 characters.
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 1000), (3, 1));
    }

    #[test]
    fn struct_fields_lists_serde_names() {
        assert_eq!(struct_fields::<RawOption>(), &["code", "type", "value"]);
        assert_eq!(
            struct_fields::<RawPool>(),
            &["start", "end", "bootp", "classes"]
        );
    }
}
