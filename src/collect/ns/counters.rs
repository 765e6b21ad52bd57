//! Parsers for the counter files under `/proc/net`: `netstat` and `snmp` (pairs of header and
//! value lines), `snmp6` (one name and value per line), `sockstat`/`sockstat6` (label and
//! key-value pairs) and `softnet_stat` (hex columns, one row per CPU).
//!
//! Every parser goes by the names in the file itself, never by position, so a kernel that adds,
//! drops or reorders a column changes nothing here. Lines or values that make no sense are
//! skipped and counted in [`Parsed::skipped`]; they never fail the whole file.

use std::collections::BTreeMap;

use crate::sample::{CounterSections, SoftnetRow};

/// A parsed file and the number of lines or fields that had to be skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed<T> {
    /// What could be read.
    pub value: T,
    /// Lines or fields that were malformed and skipped.
    pub skipped: u64,
}

/// Parses `/proc/net/netstat` or `/proc/net/snmp`: each section is a line of names
/// (`TcpExt: SyncookiesSent ...`) followed by a line of values with the same prefix.
///
/// A line is only taken as a section's values when it carries the header's prefix; otherwise
/// the header is skipped alone and the line is read as the next header, so a header without
/// its values line (or values without their header) costs that one section, never the ones
/// after it.
pub fn parse_header_value_pairs(text: &str) -> Parsed<CounterSections> {
    let mut parsed = Parsed::<CounterSections>::default();
    let mut lines = text.lines().filter(|line| !line.trim().is_empty()).peekable();
    while let Some(header) = lines.next() {
        let Some((prefix, names)) = header.split_once(':') else {
            parsed.skipped += 1;
            continue;
        };
        let Some(values) =
            lines.next_if(|line| line.split_once(':').is_some_and(|(value_prefix, _)| value_prefix == prefix))
        else {
            parsed.skipped += 1;
            continue;
        };
        let values = values.split_once(':').map_or("", |(_, values)| values);
        add_section(&mut parsed, prefix.trim(), names, values);
    }
    parsed
}

/// Adds one section's fields, pairing names and values by position within the section.
fn add_section(parsed: &mut Parsed<CounterSections>, prefix: &str, names: &str, values: &str) {
    let names: Vec<&str> = names.split_whitespace().collect();
    let values: Vec<&str> = values.split_whitespace().collect();
    parsed.skipped += names.len().abs_diff(values.len()) as u64;
    let section: &mut BTreeMap<String, i64> = parsed.value.entry(prefix.to_string()).or_default();
    for (name, value) in names.iter().zip(&values) {
        match value.parse::<i64>() {
            Ok(number) => {
                section.insert((*name).to_string(), number);
            }
            Err(_) => parsed.skipped += 1,
        }
    }
}

/// The section prefixes of `/proc/net/snmp6` names, longest first so `UdpLite6` wins over
/// `Udp6`.
const SNMP6_SECTIONS: [&str; 4] = ["UdpLite6", "Icmp6", "Udp6", "Ip6"];

/// Parses `/proc/net/snmp6` (`Ip6InReceives 123` per line) into sections named by prefix, with
/// the prefix removed from field names, as in `/proc/net/snmp`.
pub fn parse_snmp6(text: &str) -> Parsed<CounterSections> {
    let mut parsed = Parsed::<CounterSections>::default();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else {
            parsed.skipped += 1;
            continue;
        };
        let Ok(number) = value.parse::<i64>() else {
            parsed.skipped += 1;
            continue;
        };
        let (section, field) = SNMP6_SECTIONS
            .iter()
            .find_map(|prefix| name.strip_prefix(prefix).filter(|rest| !rest.is_empty()).map(|rest| (*prefix, rest)))
            .unwrap_or(("Other6", name));
        parsed.value.entry(section.to_string()).or_default().insert(field.to_string(), number);
    }
    parsed
}

/// Parses `/proc/net/sockstat` or `sockstat6`: `TCP: inuse 3 orphan 0 tw 0 alloc 5 mem 1`.
pub fn parse_sockstat(text: &str) -> Parsed<CounterSections> {
    let mut parsed = Parsed::<CounterSections>::default();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let Some((label, pairs)) = line.split_once(':') else {
            parsed.skipped += 1;
            continue;
        };
        let section = parsed.value.entry(label.trim().to_string()).or_default();
        let words: Vec<&str> = pairs.split_whitespace().collect();
        if !words.len().is_multiple_of(2) {
            parsed.skipped += 1;
        }
        for pair in words.chunks_exact(2) {
            match pair[1].parse::<i64>() {
                Ok(number) => {
                    section.insert(pair[0].to_string(), number);
                }
                Err(_) => parsed.skipped += 1,
            }
        }
    }
    parsed
}

/// The index of the CPU-id column in `softnet_stat` (Linux 5.10+).
const SOFTNET_CPU_COLUMN: usize = 12;

/// Parses `/proc/net/softnet_stat`: one row of hex columns per online CPU. Rows name their CPU
/// in column 13 on Linux 5.10+; on older kernels the row index is used (rows of offline CPUs
/// are skipped by the kernel, so that index can differ from the CPU number).
pub fn parse_softnet(text: &str) -> Parsed<Vec<SoftnetRow>> {
    let mut parsed = Parsed::<Vec<SoftnetRow>>::default();
    for (index, line) in text.lines().filter(|line| !line.trim().is_empty()).enumerate() {
        let columns: Result<Vec<u32>, _> = line.split_whitespace().map(|word| u32::from_str_radix(word, 16)).collect();
        match columns {
            Ok(columns) if !columns.is_empty() => {
                let cpu = columns.get(SOFTNET_CPU_COLUMN).copied().unwrap_or(index as u32);
                parsed.value.push(SoftnetRow { cpu, columns });
            }
            _ => parsed.skipped += 1,
        }
    }
    parsed
}

/// Parses `/proc/net/stat/nf_conntrack`: a header of names, then one row of hex values per CPU.
/// Columns are summed over CPUs, except `entries`, a table-wide gauge repeated on every row.
pub fn parse_conntrack_stat(text: &str) -> Parsed<BTreeMap<String, u64>> {
    let mut parsed = Parsed::<BTreeMap<String, u64>>::default();
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let Some(header) = lines.next() else {
        return parsed;
    };
    let names: Vec<&str> = header.split_whitespace().collect();
    for line in lines {
        let values: Result<Vec<u64>, _> = line.split_whitespace().map(|word| u64::from_str_radix(word, 16)).collect();
        let Ok(values) = values.map_err(|_| ()).and_then(|v| if v.len() == names.len() { Ok(v) } else { Err(()) })
        else {
            parsed.skipped += 1;
            continue;
        };
        for (name, value) in names.iter().zip(values) {
            let total = parsed.value.entry((*name).to_string()).or_insert(0);
            if *name == "entries" {
                *total = value;
            } else {
                *total = total.saturating_add(value);
            }
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_matched_by_name_not_position() {
        let text = "TcpExt: SyncookiesSent ListenDrops ListenOverflows\n\
                    TcpExt: 1 22 21\n\
                    IpExt: InOctets\n\
                    IpExt: 123456789012\n";
        let parsed = parse_header_value_pairs(text);
        assert_eq!(parsed.skipped, 0);
        assert_eq!(parsed.value["TcpExt"]["ListenDrops"], 22);
        assert_eq!(parsed.value["TcpExt"]["ListenOverflows"], 21);
        assert_eq!(parsed.value["IpExt"]["InOctets"], 123_456_789_012);
    }

    #[test]
    fn a_missing_value_column_skips_only_that_field() {
        let text = "Tcp: RtoAlgorithm MaxConn ActiveOpens\nTcp: 1 -1\n";
        let parsed = parse_header_value_pairs(text);
        assert_eq!(parsed.value["Tcp"]["MaxConn"], -1);
        assert!(!parsed.value["Tcp"].contains_key("ActiveOpens"));
        assert_eq!(parsed.skipped, 1);
    }

    #[test]
    fn garbage_values_and_orphan_headers_are_skipped() {
        let text = "Udp: InDatagrams NoPorts\nUdp: 5 x\nIcmp: InMsgs\n";
        let parsed = parse_header_value_pairs(text);
        assert_eq!(parsed.value["Udp"]["InDatagrams"], 5);
        assert!(!parsed.value["Udp"].contains_key("NoPorts"));
        assert!(!parsed.value.contains_key("Icmp"));
        assert_eq!(parsed.skipped, 2);
    }

    #[test]
    fn a_header_without_its_values_costs_only_its_own_section() {
        let text = "Ip: Forwarding DefaultTTL\nIcmp: InMsgs InErrors\nIcmp: 3 0\n\
                    Tcp: RtoAlgorithm ActiveOpens\nTcp: 1 7\nUdp: InDatagrams\nUdp: 5\n";
        let parsed = parse_header_value_pairs(text);
        assert!(!parsed.value.contains_key("Ip"));
        assert_eq!(parsed.value["Icmp"]["InMsgs"], 3);
        assert_eq!(parsed.value["Tcp"]["ActiveOpens"], 7);
        assert_eq!(parsed.value["Udp"]["InDatagrams"], 5);
        assert_eq!(parsed.skipped, 1, "the header without values");
    }

    #[test]
    fn values_without_their_header_are_skipped() {
        let parsed = parse_header_value_pairs("Tcp: 1 7\nUdp: InDatagrams\nUdp: 5\n");
        assert_eq!(parsed.value.keys().collect::<Vec<_>>(), ["Udp"]);
        assert_eq!(parsed.skipped, 1);
    }

    #[test]
    fn snmp6_names_are_split_into_sections() {
        let text = "Ip6InReceives                   	12\nIcmp6InMsgs 3\nUdpLite6InErrors 0\nUdp6RcvbufErrors 7\nIcmp6OutType133 1\n";
        let parsed = parse_snmp6(text);
        assert_eq!(parsed.value["Ip6"]["InReceives"], 12);
        assert_eq!(parsed.value["Icmp6"]["OutType133"], 1);
        assert_eq!(parsed.value["Udp6"]["RcvbufErrors"], 7);
        assert_eq!(parsed.value["UdpLite6"]["InErrors"], 0);
    }

    #[test]
    fn sockstat_lines_become_sections() {
        let text = "sockets: used 161\nTCP: inuse 5 orphan 0 tw 2 alloc 8 mem 1\nFRAG: inuse 0 memory 0\n";
        let parsed = parse_sockstat(text);
        assert_eq!(parsed.value["sockets"]["used"], 161);
        assert_eq!(parsed.value["TCP"]["tw"], 2);
        assert_eq!(parsed.value["FRAG"]["memory"], 0);
        assert_eq!(parsed.skipped, 0);
    }

    #[test]
    fn softnet_rows_of_any_width() {
        let eleven =
            "0000272d 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n";
        let thirteen = "00c8f1a6 00000002 00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000005 00000000 00000000 00000003\n";
        let old = parse_softnet(eleven);
        assert_eq!(old.value[0].cpu, 0);
        assert_eq!(old.value[0].processed(), Some(0x272d));
        assert_eq!(old.value[0].backlog_len(), None);
        let new = parse_softnet(thirteen);
        assert_eq!(new.value[0].cpu, 3);
        assert_eq!(new.value[0].dropped(), Some(2));
        assert_eq!(new.value[0].time_squeeze(), Some(16));
        assert_eq!(new.value[0].columns[9], 5, "received_rps, kept as a raw column");
    }

    #[test]
    fn conntrack_rows_are_summed_over_cpus() {
        let text = "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error expect_new expect_create expect_delete search_restart\n\
                    00000021  00000000 00000000 00000000 00000003 0000001c 00000000 00000000 00000000 00000000 00000002 00000000 00000000 00000000 00000000 00000000 00000000\n\
                    00000021  00000000 00000000 00000000 00000001 00000010 00000000 00000000 00000000 00000000 00000003 00000001 00000000 00000000 00000000 00000000 00000000\n";
        let parsed = parse_conntrack_stat(text);
        assert_eq!(parsed.value["entries"], 0x21);
        assert_eq!(parsed.value["drop"], 5);
        assert_eq!(parsed.value["early_drop"], 1);
        assert_eq!(parsed.value["invalid"], 4);
        assert_eq!(parsed.skipped, 0);
    }

    #[test]
    fn a_softnet_row_with_junk_is_skipped() {
        let parsed = parse_softnet("0000001 zz\n00000002 00000000\n");
        assert_eq!(parsed.skipped, 1);
        assert_eq!(parsed.value.len(), 1);
        assert_eq!(parsed.value[0].cpu, 1);
    }
}
