//! The kernel settings sockscope knows, with this namespace's value and whether it differs from
//! the kernel default.

use crate::sample::{Sample, SysctlValue};
use crate::settings::{SETTINGS, Setting};

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
}

impl SettingView {
    /// The value as `/proc/sys` prints it, `None` when absent.
    pub fn shown(&self) -> Option<String> {
        self.value.as_ref().map(format_setting)
    }
}

/// Every catalogued setting, in catalogue order, present or not.
pub fn settings(sample: &Sample) -> Vec<SettingView> {
    SETTINGS
        .iter()
        .map(|setting| {
            let value = sample.sysctl(setting.name).cloned();
            let changed = value.as_ref().and_then(|value| setting.typed_default.differs(value));
            SettingView { setting, value, changed }
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
