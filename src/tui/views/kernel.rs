//! Every kernel setting sockscope knows: its value in this namespace, the kernel default, and
//! one line on what it bounds; the detail pane adds the `/proc/sys` path and the findings that
//! name the setting.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::overview::severity_style;
use super::{Ctx, draw_pane, filtered, sort_rows, title};
use crate::advise::Subject;
use crate::model::format_setting;
use crate::render::format::sanitize;
use crate::settings::{SETTINGS, Setting};
use crate::tui::app::TableNav;
use crate::tui::filter::Record;
use crate::tui::widgets::{Column, DataTable, Drawn, SortColumn, field, key_of};

const COLUMNS: [Column; 5] = [
    Column::text("group", 13, 3),
    Column::text("setting", 34, 0),
    Column::text("value", 18, 0),
    Column::text("default", 14, 2),
    Column::flexible("what it bounds", 20),
];

/// Sorts: catalogue order (grouped), name, changed from default first.
pub const SORTS: [SortColumn; 3] = [
    SortColumn { name: "group", column: 0 },
    SortColumn { name: "setting", column: 1 },
    SortColumn { name: "changed", column: 3 },
];

fn value(ctx: &Ctx<'_>, setting: &Setting) -> Option<String> {
    ctx.sample.sysctl(setting.name).map(format_setting)
}

/// Whether a value differs from the documented default (only when the default is one plain value).
fn changed(value: Option<&str>, setting: &Setting) -> bool {
    let plain = setting.default.split_whitespace().collect::<Vec<_>>().join(" ");
    let comparable = !plain.contains('(') && !plain.contains("max") && !plain.contains("depends");
    comparable && value.is_some_and(|value| value.split_whitespace().collect::<Vec<_>>().join(" ") != plain)
}

/// Draws the Kernel view.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, nav: &mut TableNav) -> Option<Drawn> {
    let values: Vec<Option<String>> = SETTINGS.iter().map(|setting| value(ctx, setting)).collect();
    let mut rows = filtered(ctx.filter, SETTINGS.len(), |index| Record {
        text: vec![
            SETTINGS[index].name.to_string(),
            SETTINGS[index].bounds.to_string(),
            SETTINGS[index].group.title().to_string(),
        ],
        ..Record::default()
    });
    let keys: Vec<u64> = SETTINGS.iter().map(|setting| key_of(setting.name)).collect();
    sort_rows(&mut rows, ctx.sort, &keys, |a, b| match SORTS[ctx.sort.column.min(SORTS.len() - 1)].name {
        "setting" => SETTINGS[a].name.cmp(SETTINGS[b].name),
        "changed" => changed(values[b].as_deref(), &SETTINGS[b])
            .cmp(&changed(values[a].as_deref(), &SETTINGS[a]))
            .then(a.cmp(&b)),
        _ => a.cmp(&b),
    });
    let row_keys: Vec<u64> = rows.iter().map(|index| keys[*index]).collect();
    let (table_area, pane) = super::split_detail(area, ctx.detail);
    let table = DataTable {
        title: title("Kernel settings in this namespace", rows.len(), SETTINGS.len(), ctx),
        columns: &COLUMNS,
        sorts: &SORTS,
        sort: ctx.sort,
        keys: &row_keys,
        focused: true,
        empty: "no setting matches the filter",
    };
    let clicks = table.draw(frame, table_area, nav, ctx.theme, |row| {
        let index = rows[row];
        let setting = &SETTINGS[index];
        let shown = values[index].as_deref().map_or_else(|| "absent".to_string(), |v| sanitize(v).into_owned());
        let style = if changed(values[index].as_deref(), setting) { ctx.theme.title } else { Style::new() };
        let cells = vec![
            Span::styled(setting.group.title(), ctx.theme.muted),
            Span::raw(setting.name),
            Span::styled(shown, if values[index].is_none() { ctx.theme.muted } else { style }),
            Span::styled(setting.default, ctx.theme.muted),
            Span::raw(setting.bounds),
        ];
        (cells, Style::new())
    });
    if let Some(pane) = pane
        && let Some(index) = nav.key.and_then(|key| keys.iter().position(|k| *k == key))
    {
        draw_pane(
            frame,
            pane,
            SETTINGS[index].name.to_string(),
            details(&SETTINGS[index], values[index].as_deref(), ctx),
            ctx.theme,
        );
    }
    Some(clicks)
}

fn details<'a>(setting: &Setting, value: Option<&str>, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let mut lines = vec![
        field(
            "value",
            value.map_or_else(
                || "absent on this kernel (or its module is not loaded)".to_string(),
                |v| sanitize(v).into_owned(),
            ),
            theme,
        ),
        field("default", setting.default, theme),
        field(
            "changed",
            if changed(value, setting) { "yes" } else { "no (or the default depends on the machine)" },
            theme,
        ),
        field("file", format!("/proc/sys/{}", setting.relative_path()), theme),
        field("group", setting.group.title(), theme),
        field("bounds", setting.bounds, theme),
        field("read it", format!("sysctl {}", setting.name), theme),
    ];
    let findings = ctx.frame.findings.findings.iter().filter(|finding| {
        matches!(&finding.subject, Subject::Sysctl { name } if name == setting.name)
            || finding.remedy.contains(setting.name)
    });
    for finding in findings {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<18}", finding.severity.tag()), severity_style(finding.severity, ctx)),
            Span::raw(format!("{} — {}", finding.id, sanitize(&finding.summary))),
        ]));
    }
    lines
}
