//! Every kernel setting sockscope knows: its value in this namespace, the kernel default (set in
//! the highlight style when the value differs), and one line on what it bounds; the detail pane
//! adds the `/proc/sys` path and the findings that concern the setting.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{draw_pane, finding_line, title};
use crate::advise::{Finding, Subject};
use crate::format::sanitize;
use crate::model::SettingView;
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::filter::Record;
use crate::tui::table::{Row, TableState, ordered};
use crate::tui::widgets::{CellText, Column, DataTable, Drawn, field};

/// The columns of the Kernel table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelColumn {
    /// The setting's group (sorts in catalogue order).
    Group,
    /// Dotted name.
    Setting,
    /// Value in this namespace.
    Value,
    /// Kernel default (sorts changed settings first).
    Default,
    /// What it bounds.
    Bounds,
}

use KernelColumn as C;

const COLUMNS: [Column<C>; 5] = [
    Column::text(C::Group, "group", 13, 3),
    Column::text(C::Setting, "setting", 34, 0),
    Column::text(C::Value, "value", 18, 0),
    Column::text(C::Default, "default", 14, 2),
    Column::name(C::Bounds, "what it bounds", 20),
];

/// Sorts: catalogue order (grouped), name, changed from default first.
const SORTABLE: [C; 3] = [C::Group, C::Setting, C::Default];

/// A setting with its place in the catalogue.
struct SettingRow<'a> {
    order: usize,
    view: &'a SettingView,
}

impl Row for SettingRow<'_> {
    type Column = KernelColumn;

    fn key(&self) -> u64 {
        self.order as u64
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        match column {
            C::Setting => self.view.setting.name.cmp(other.view.setting.name),
            C::Default => other.view.changed.unwrap_or(false).cmp(&self.view.changed.unwrap_or(false)),
            C::Group | C::Value | C::Bounds => self.order.cmp(&other.order),
        }
    }

    fn record(&self) -> Record {
        let setting = self.view.setting;
        Record {
            text: vec![setting.name.to_string(), setting.bounds.to_string(), setting.group.title().to_string()],
            ..Record::default()
        }
    }
}

/// The Kernel tab.
pub struct Kernel {
    table: TableState<C>,
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel { table: TableState::new(&SORTABLE) }
    }
}

impl Tab for Kernel {
    tab_table!(TabId::Kernel);

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        let all: Vec<SettingRow> =
            ctx.model.settings.iter().enumerate().map(|(order, view)| SettingRow { order, view }).collect();
        let rows = ordered(&all, ctx.filter, self.table.sort);
        let row_keys: Vec<u64> = rows.iter().map(|index| all[*index].key()).collect();
        let (table_area, pane) = super::split_detail(area, self.table.detail);
        let table = DataTable {
            title: title("Kernel settings in this namespace", rows.len(), all.len(), ctx),
            columns: &COLUMNS,
            sorts: &SORTABLE,
            sort: self.table.sort,
            keys: &row_keys,
            focused: true,
            empty: "no setting matches the filter",
        };
        let clicks = table.draw(frame, table_area, &mut self.table.nav, ctx.theme, |row| {
            let view = all[rows[row]].view;
            let setting = view.setting;
            let missing = view.missing.map_or("absent", |missing| missing.short());
            let shown = view.shown().map_or_else(|| missing.to_string(), |v| sanitize(&v).into_owned());
            let style = if view.value.is_none() {
                ctx.theme.muted
            } else if view.changed == Some(true) {
                ctx.theme.title
            } else {
                Style::new()
            };
            let cells = vec![
                Span::styled(setting.group.title(), ctx.theme.muted).into(),
                setting.name.into(),
                Span::styled(shown, style).into(),
                Span::styled(setting.default, ctx.theme.muted).into(),
                CellText::words(setting.bounds),
            ];
            (cells, Style::new())
        });
        if let Some(pane) = pane
            && let Some(row) = self.table.nav.key.and_then(|key| all.iter().find(|row| row.key() == key))
        {
            draw_pane(frame, pane, row.view.setting.name.to_string(), details(row.view, ctx), ctx.theme);
        }
        Some(clicks)
    }
}

/// Whether a finding concerns a setting: it is about it, or its remedy changes it.
fn concerns(finding: &Finding, name: &str) -> bool {
    matches!(&finding.subject, Subject::Sysctl { name: subject } if subject == name) || finding.settings.contains(&name)
}

fn details<'a>(view: &SettingView, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let setting = view.setting;
    let changed = match view.changed {
        Some(true) => "yes",
        Some(false) => "no",
        None if view.value.is_none() => "-",
        None => "the default depends on the machine",
    };
    let mut lines = vec![
        field(
            "value",
            view.shown().map_or_else(
                || view.missing.map_or("absent", |missing| missing.describe()).to_string(),
                |v| sanitize(&v).into_owned(),
            ),
            theme,
        ),
        field("default", setting.default, theme),
        field("changed", changed, theme),
        field("file", format!("/proc/sys/{}", setting.relative_path()), theme),
        field("group", setting.group.title(), theme),
        field("bounds", setting.bounds, theme),
        field("read it", format!("sysctl {}", setting.name), theme),
    ];
    let findings = ctx.frame.findings.findings.iter().filter(|finding| concerns(finding, setting.name));
    lines.extend(findings.map(|finding| finding_line(finding, ctx)));
    lines
}
