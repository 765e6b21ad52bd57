//! Each exported field described once: its id (the JSON name, and the OpenMetrics series
//! suffix to come), the title a table column shows, its unit, whether it is a counter or a
//! gauge, and what it means. The JSON report serialises listeners through [`LISTENER_FIELDS`],
//! the dashboard's and the text report's listener tables take their headings from the same
//! entries, and README's table of `listeners[]` is checked against it — so adding a listener
//! field is one entry here.

use std::borrow::Cow;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::{ListenerView, OwnerView};
use crate::sample::ProcessRef;

/// What a field's number measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count of things (connections, packets, sockets).
    Count,
    /// A share from 0 to 1.
    Ratio,
    /// A count per second.
    PerSecond,
    /// Yes or no.
    Flag,
    /// An identifier or a name, not a quantity.
    Label,
}

/// How a field's value behaves over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A level that goes up and down (a queue length).
    Gauge,
    /// A running total that only grows while its socket lives.
    Counter,
    /// Identity or description, not a measurement.
    Info,
}

/// A field's value for one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// A whole number, or absent.
    Integer(Option<u64>),
    /// A real number, or absent.
    Real(Option<f64>),
    /// A flag, or absent.
    Flag(Option<bool>),
    /// Text, or absent.
    Text(Option<Cow<'a, str>>),
    /// The processes holding a socket.
    Processes(&'a [ProcessRef]),
    /// The processes taking a listener's connections, with their state.
    Owners(&'a [OwnerView]),
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Integer(value) => value.serialize(serializer),
            Value::Real(value) => value.serialize(serializer),
            Value::Flag(value) => value.serialize(serializer),
            Value::Text(value) => value.serialize(serializer),
            Value::Processes(processes) => processes.serialize(serializer),
            Value::Owners(owners) => owners.serialize(serializer),
        }
    }
}

/// One exported field of rows of type `T`.
pub struct Field<T: 'static> {
    /// The stable name: the JSON key.
    pub id: &'static str,
    /// The column heading tables show.
    pub title: &'static str,
    /// What the number measures.
    pub unit: Unit,
    /// Counter, gauge or information.
    pub kind: Kind,
    /// The JSON type as documented (`number or null`, ...).
    pub json_type: &'static str,
    /// What it means, as README documents it.
    pub help: &'static str,
    /// The value of one row.
    pub value: for<'a> fn(&'a T) -> Value<'a>,
}

macro_rules! fields {
    ($row:ty: $( $(#[$doc:meta])* $name:ident = $id:literal, $title:literal, $unit:ident, $kind:ident,
                 $json:literal, $help:literal, |$l:ident| $value:expr; )*) => {
        $( $(#[$doc])* pub const $name: Field<$row> = Field {
            id: $id,
            title: $title,
            unit: Unit::$unit,
            kind: Kind::$kind,
            json_type: $json,
            help: $help,
            value: |$l| $value,
        }; )*

        /// Every listener field, in the order the JSON report writes them.
        pub const LISTENER_FIELDS: &[Field<$row>] = &[$( $name ),*];
    };
}

fields! { ListenerView:
    /// `tcp` or `unix`.
    PROTOCOL = "protocol", "proto", Label, Info, "string", "`\"tcp\"` or `\"unix\"`",
        |l| Value::Text(Some(Cow::Borrowed(l.protocol.name())));
    /// Address family.
    FAMILY = "family", "family", Label, Info, "string", "`\"ipv4\"`, `\"ipv6\"` or `\"unix\"`",
        |l| Value::Text(Some(Cow::Borrowed(l.family_name())));
    /// Bound address or UNIX path.
    LOCAL_ADDRESS = "local_address", "address", Label, Info, "string",
        "bound address without brackets (`\"0.0.0.0\"`, `\"::\"` for wildcards), or the UNIX socket path (`@name` for abstract sockets)",
        |l| Value::Text(Some(Cow::Owned(l.endpoint.address_text())));
    /// Bound port.
    LOCAL_PORT = "local_port", "port", Label, Info, "number or null", "bound port; `null` for UNIX",
        |l| Value::Integer(l.endpoint.port().map(u64::from));
    /// Connections waiting for `accept()`.
    ACCEPT_QUEUE = "accept_queue", "recv-q", Count, Gauge, "number", "connections waiting for `accept()` (`ss` Recv-Q)",
        |l| Value::Integer(Some(u64::from(l.accept_queue)));
    /// The accept-queue limit.
    BACKLOG = "backlog", "backlog", Count, Gauge, "number",
        "the accept-queue limit (`ss` Send-Q): `min(listen() backlog, somaxconn at listen time)`",
        |l| Value::Integer(Some(u64::from(l.backlog)));
    /// Accept-queue fill.
    FILL = "fill", "fill", Ratio, Gauge, "number", "`accept_queue / (backlog + 1)`; `1.0` exactly when the kernel drops",
        |l| Value::Real(Some(l.fill));
    /// Whether the kernel drops now.
    FULL = "full", "full", Flag, Gauge, "bool",
        "`accept_queue > backlog`: the kernel is dropping new connections for this listener now",
        |l| Value::Flag(Some(l.full));
    /// Half-open requests.
    SYN_QUEUE = "syn_queue", "SYN q", Count, Gauge, "number or null",
        "half-open requests (SYN_RECV) attributed to it; `null` for UNIX or when the TCP dump failed",
        |l| Value::Integer(l.syn_queue.map(u64::from));
    /// Listener sockets sharing the SYN queue.
    SYN_QUEUE_SHARED_BY = "syn_queue_shared_by", "SYN q shared", Count, Gauge, "number",
        "how many listener sockets share `syn_queue` (an `SO_REUSEPORT` group); normally 1",
        |l| Value::Integer(Some(u64::from(l.syn_shared_by)));
    /// Of the half-open requests, those with a retransmitted SYN-ACK.
    SYN_RETRANSMITTED = "syn_retransmitted", "SYN re", Count, Gauge, "number or null",
        "of those requests, how many had their SYN-ACK retransmitted",
        |l| Value::Integer(l.syn_retransmitted.map(u64::from));
    /// Drops since the socket was created.
    DROPS = "drops", "drops", Count, Counter, "number or null",
        "packets this listener dropped since it was created (Linux 4.7+; `null` for UNIX)",
        |l| Value::Integer(l.drops);
    /// Drops in the interval.
    DROPS_DELTA = "drops_delta", "drops +", Count, Gauge, "number or null", "drops between the two samples (same socket)",
        |l| Value::Integer(l.drops_delta);
    /// Drops per second.
    DROPS_PER_SECOND = "drops_per_second", "drops/s", PerSecond, Gauge, "number or null", "`drops_delta` per second",
        |l| Value::Real(l.drops_per_second);
    /// Socket inode.
    INODE = "inode", "inode", Label, Info, "number", "socket inode",
        |l| Value::Integer(Some(l.inode));
    /// Kernel socket cookie.
    COOKIE = "cookie", "cookie", Label, Info, "number", "kernel socket cookie (identity for the socket's lifetime)",
        |l| Value::Integer(Some(l.cookie()));
    /// Owner uid.
    UID = "uid", "uid", Label, Info, "number or null", "owner uid",
        |l| Value::Integer(l.uid.map(u64::from));
    /// IPv6 only.
    V6ONLY = "v6only", "v6only", Flag, Info, "bool or null", "IPv6 listeners: whether IPv4 clients are refused",
        |l| Value::Flag(l.v6only);
    /// Owning processes.
    PROCESSES = "processes", "process", Label, Info, "array",
        "`{pid, command}` of every process holding the socket; empty when unknown or skipped",
        |l| Value::Processes(&l.processes);
    /// The processes taking its connections, with their state.
    OWNERS = "owners", "owners", Label, Info, "array",
        "the processes that take its connections: those of `processes` that have it in an epoll set when any does (not an nginx master; in an `SO_REUSEPORT` group, the member's own worker), else all of them; each an object described below",
        |l| Value::Owners(&l.owners);
}

/// A row serialised as an object of its fields, in table order.
pub struct Exported<'a, T: 'static> {
    /// The row.
    pub row: &'a T,
    /// Its fields.
    pub fields: &'static [Field<T>],
}

impl<T> Serialize for Exported<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for field in self.fields {
            map.serialize_entry(field.id, &(field.value)(self.row))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_snake_case() {
        let mut ids: Vec<&str> = LISTENER_FIELDS.iter().map(|field| field.id).collect();
        assert!(ids.iter().all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), LISTENER_FIELDS.len());
    }

    #[test]
    fn readme_documents_every_listener_field_as_the_table_says() {
        let readme = include_str!("../../README.md");
        for field in LISTENER_FIELDS {
            let row = format!("| `{}` | {} | {} |", field.id, field.json_type, field.help);
            assert!(readme.contains(&row), "README's listeners[] table lacks or differs from:\n{row}");
        }
    }

    #[test]
    fn counters_and_gauges_are_told_apart() {
        assert_eq!(DROPS.kind, Kind::Counter);
        assert_eq!(ACCEPT_QUEUE.kind, Kind::Gauge);
        assert_eq!(DROPS_PER_SECOND.unit, Unit::PerSecond);
        assert_eq!(PROCESSES.unit, Unit::Label);
    }
}
