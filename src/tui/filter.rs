//! The `/` filter: ss-like words, parsed once into a typed query and matched against each row's
//! fields. Words are ANDed; `!word` negates one.
//!
//! | word | matches |
//! |---|---|
//! | `port:8080` | local or remote port |
//! | `sport:8080` / `dport:443` | local / remote port |
//! | `addr:10.0.0.1` | local or remote address (a prefix such as `10.0.` works) |
//! | `src:` / `dst:` | local / remote address |
//! | `state:time_wait` | TCP state (`time-wait`, `TIME_WAIT`, `estab` all work) |
//! | `proc:nginx` | owning process name or pid |
//! | `netns:web` | network namespace: its name, inode (`4026532290`), or a prefix of its container id |
//! | anything else | free text, case-insensitive, anywhere in the row |

/// The fields of one row that the filter can look at.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// Local address as shown (no brackets).
    pub local_address: Option<String>,
    /// Local port.
    pub local_port: Option<u16>,
    /// Remote address as shown.
    pub remote_address: Option<String>,
    /// Remote port.
    pub remote_port: Option<u16>,
    /// TCP state name, e.g. `TIME_WAIT`.
    pub state: Option<&'static str>,
    /// Owning processes as `(pid, command)`.
    pub processes: Vec<(u32, String)>,
    /// Everything else worth a free-text match (names, kinds, descriptions).
    pub text: Vec<String>,
    /// The row's network namespace: inode, name, container id (empty when unknown).
    pub netns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Port(u16),
    SourcePort(u16),
    DestinationPort(u16),
    Address(String),
    Source(String),
    Destination(String),
    State(String),
    Process(String),
    Netns(String),
    Text(String),
}

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    text: String,
    terms: Vec<(bool, Term)>,
}

impl Filter {
    /// Parses a filter line; the error names the word that could not be understood.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let terms = text.split_whitespace().map(parse_word).collect::<Result<Vec<_>, _>>()?;
        Ok(Filter { text: text.split_whitespace().collect::<Vec<_>>().join(" "), terms })
    }

    /// The filter as typed (whitespace normalised).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the filter has no words.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether a row passes every word.
    pub fn matches(&self, record: &Record) -> bool {
        self.terms.iter().all(|(negated, term)| term_matches(term, record) != *negated)
    }
}

fn parse_word(word: &str) -> Result<(bool, Term), String> {
    let (negated, word) = match word.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let Some((key, value)) = word.split_once(':').filter(|(key, _)| is_key(key)) else {
        return Ok((negated, Term::Text(word.to_lowercase())));
    };
    if value.is_empty() {
        return Err(format!("'{word}' needs a value after the colon"));
    }
    let port = || value.parse::<u16>().map_err(|_| format!("'{value}' in '{word}' is not a port number"));
    let term = match key.to_ascii_lowercase().as_str() {
        "port" => Term::Port(port()?),
        "sport" => Term::SourcePort(port()?),
        "dport" => Term::DestinationPort(port()?),
        "addr" => Term::Address(address(value)),
        "src" => Term::Source(address(value)),
        "dst" => Term::Destination(address(value)),
        "state" => Term::State(normalise_state(value)),
        "netns" => Term::Netns(value.trim_start_matches("net:[").trim_end_matches(']').to_lowercase()),
        _ => Term::Process(value.to_lowercase()),
    };
    Ok((negated, term))
}

/// The filter keys; a colon after any other word is free text (an IPv6 address, `nginx:`).
fn is_key(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "port" | "sport" | "dport" | "addr" | "src" | "dst" | "state" | "proc" | "netns"
    )
}

/// Addresses are compared without brackets, so `addr:[::1]` works too.
fn address(value: &str) -> String {
    value.trim_start_matches('[').trim_end_matches(']').to_lowercase()
}

/// `TIME-WAIT`, `time_wait` and `timewait` are the same state.
fn normalise_state(state: &str) -> String {
    state.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

fn term_matches(term: &Term, record: &Record) -> bool {
    let address_matches = |address: &Option<String>, wanted: &str| {
        address.as_deref().is_some_and(|a| a.to_lowercase().starts_with(wanted))
    };
    match term {
        Term::Port(port) => record.local_port == Some(*port) || record.remote_port == Some(*port),
        Term::SourcePort(port) => record.local_port == Some(*port),
        Term::DestinationPort(port) => record.remote_port == Some(*port),
        Term::Address(wanted) => {
            address_matches(&record.local_address, wanted) || address_matches(&record.remote_address, wanted)
        }
        Term::Source(wanted) => address_matches(&record.local_address, wanted),
        Term::Destination(wanted) => address_matches(&record.remote_address, wanted),
        Term::State(wanted) => record.state.is_some_and(|state| normalise_state(state).starts_with(wanted.as_str())),
        Term::Process(wanted) => record
            .processes
            .iter()
            .any(|(pid, command)| pid.to_string() == *wanted || command.to_lowercase().contains(wanted.as_str())),
        Term::Netns(wanted) => record.netns.iter().enumerate().any(|(index, field)| {
            let field = field.to_lowercase();
            // The last field is the container id, matched by prefix as `docker ps` ids are.
            field == *wanted || (index == 2 && wanted.len() >= 4 && field.starts_with(wanted.as_str()))
        }),
        Term::Text(wanted) => text_matches(record, wanted),
    }
}

fn text_matches(record: &Record, wanted: &str) -> bool {
    let contains = |text: &str| text.to_lowercase().contains(wanted);
    record.text.iter().any(|text| contains(text))
        || record.local_address.as_deref().is_some_and(contains)
        || record.remote_address.as_deref().is_some_and(contains)
        || record.local_port.is_some_and(|port| port.to_string().contains(wanted))
        || record.remote_port.is_some_and(|port| port.to_string().contains(wanted))
        || record.state.is_some_and(contains)
        || record.processes.iter().any(|(_, command)| contains(command))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Record {
        Record {
            local_address: Some("10.0.0.1".to_string()),
            local_port: Some(8080),
            remote_address: Some("192.168.1.9".to_string()),
            remote_port: Some(51000),
            state: Some("TIME_WAIT"),
            processes: vec![(812, "nginx".to_string())],
            text: vec!["tcp".to_string()],
            netns: vec!["4026532290".to_string(), "web".to_string(), "1a2b3c4d5e6f7a8b".to_string()],
        }
    }

    fn passes(filter: &str) -> bool {
        Filter::parse(filter).map(|f| f.matches(&connection())).unwrap_or_else(|e| panic!("{filter}: {e}"))
    }

    #[test]
    fn words_match_their_field() {
        assert!(passes("port:8080"));
        assert!(passes("port:51000"));
        assert!(passes("sport:8080"));
        assert!(!passes("dport:8080"));
        assert!(passes("addr:10.0.0.1"));
        assert!(passes("addr:192.168."));
        assert!(passes("src:10.0."));
        assert!(!passes("dst:10.0."));
        assert!(passes("state:time-wait"));
        assert!(passes("state:TIME_WAIT"));
        assert!(passes("state:timewait"));
        assert!(!passes("state:estab"));
        assert!(passes("proc:NGINX"));
        assert!(passes("proc:812"));
        assert!(passes("nginx"));
        assert!(passes("tcp 8080"));
        assert!(!passes("udp"));
        assert!(passes("netns:web"));
        assert!(passes("netns:4026532290"));
        assert!(passes("netns:net:[4026532290]"));
        assert!(passes("netns:1a2b3c"));
        assert!(!passes("netns:we"), "names match whole");
        assert!(!passes("netns:db"));
    }

    #[test]
    fn words_combine_and_negate() {
        assert!(passes("port:8080 proc:nginx"));
        assert!(!passes("port:8080 proc:haproxy"));
        assert!(passes("!state:listen"));
        assert!(!passes("!port:8080"));
        assert!(Filter::parse("").is_ok_and(|f| f.is_empty() && f.matches(&Record::default())));
    }

    #[test]
    fn bad_words_are_named() {
        assert_eq!(Filter::parse("port:http"), Err("'http' in 'port:http' is not a port number".to_string()));
        assert_eq!(Filter::parse("state:"), Err("'state:' needs a value after the colon".to_string()));
        assert!(Filter::parse("fe80::1").is_ok(), "an IPv6 address is free text");
        assert_eq!(Filter::parse("  port:1   x ").map(|f| f.text().to_string()), Ok("port:1 x".to_string()));
    }
}
