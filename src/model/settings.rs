//! The kernel settings sockscope knows, with this namespace's value and whether it differs from
//! the kernel default.

use crate::sample::{HostNamespace, Sample, SysctlValue};
use crate::settings::{HOST_WIDE_SETTINGS, SETTINGS, Setting};

/// Why a catalogued setting has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// This kernel has no such file (too old or too new, or its module is not loaded).
    Absent,
    /// A host-wide setting: `/proc/sys` shows it only in the host's namespace, and that
    /// namespace could not be read from here (no privileges to enter it).
    HostWide,
}

impl Missing {
    /// A word or two for a table cell.
    pub fn short(self) -> &'static str {
        match self {
            Missing::Absent => "absent",
            Missing::HostWide => "host-wide, unread",
        }
    }

    /// The reason in a sentence, for details.
    pub fn describe(self) -> &'static str {
        match self {
            Missing::Absent => "absent on this kernel (or its module is not loaded)",
            Missing::HostWide => {
                "host-wide: /proc/sys shows it only in the host's namespace, which could not be read from here (root \
                 or CAP_SYS_ADMIN reads it)"
            }
        }
    }
}

/// A catalogued setting with its value in the sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingView {
    /// What sockscope knows about the setting.
    pub setting: &'static Setting,
    /// Its value now; `None` when absent on this kernel (or its module is not loaded).
    pub value: Option<SysctlValue>,
    /// Whether the value differs from the kernel default; `None` when absent or when the
    /// default depends on the machine.
    pub changed: Option<bool>,
    /// Why there is no value; `None` when there is one.
    pub missing: Option<Missing>,
}

impl SettingView {
    /// The value as `/proc/sys` prints it, `None` when absent.
    pub fn shown(&self) -> Option<String> {
        self.value.as_ref().map(format_setting)
    }
}

/// Every catalogued setting, in catalogue order, present or not.
pub fn settings(sample: &Sample) -> Vec<SettingView> {
    let in_host = matches!(sample.host_netns, Some(HostNamespace::Same { .. }));
    SETTINGS
        .iter()
        .map(|setting| {
            let value = sample.sysctl(setting.name).cloned();
            let changed = value.as_ref().and_then(|value| setting.typed_default.differs(value));
            let missing = value.is_none().then(|| match HOST_WIDE_SETTINGS.contains(&setting.name) && !in_host {
                true => Missing::HostWide,
                false => Missing::Absent,
            });
            SettingView { setting, value, changed, missing }
        })
        .collect()
}

/// Formats a setting's value as `/proc/sys` prints it, with spaces between multiple values.
pub fn format_setting(value: &SysctlValue) -> String {
    match value {
        SysctlValue::Integer(number) => number.to_string(),
        SysctlValue::Integers(numbers) => numbers.iter().map(i64::to_string).collect::<Vec<_>>().join(" "),
        SysctlValue::Text(text) if text.is_empty() => "(empty)".to_string(),
        SysctlValue::Text(text) => text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_wide_setting_unread_from_a_child_namespace_is_not_called_absent() {
        let mut sample = crate::advise::testkit::sample(1);
        if let Some(sysctls) = sample.sysctls.as_mut() {
            sysctls.remove("net.ipv4.tcp_mem");
            sysctls.remove("net.ipv4.tcp_tw_recycle");
        }
        sample.host_netns = Some(HostNamespace::Unknown { reason: "permission denied".into() });
        let missing = |sample: &Sample, name: &str| {
            settings(sample).into_iter().find(|view| view.setting.name == name).and_then(|view| view.missing)
        };
        assert_eq!(missing(&sample, "net.ipv4.tcp_mem"), Some(Missing::HostWide));
        assert_eq!(missing(&sample, "net.ipv4.tcp_tw_recycle"), Some(Missing::Absent));
        assert_eq!(missing(&sample, "net.core.somaxconn"), None);
        sample.host_netns = Some(HostNamespace::Same { found_through: crate::sample::HostLink::Init });
        assert_eq!(missing(&sample, "net.ipv4.tcp_mem"), Some(Missing::Absent), "read in the host's namespace itself");
    }
}
