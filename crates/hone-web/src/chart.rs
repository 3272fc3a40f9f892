//! Chart geometry for the stats page: the numbers become bar positions and sizes here, and
//! `templates/stats.html` draws them as inline SVG (no script, labels escaped by the
//! template).

/// Horizontal bars, one per row, scaled to the largest value.
pub struct HBars {
    /// The rows.
    pub rows: Vec<HBar>,
    /// The SVG's height.
    pub height: u32,
}

/// One horizontal bar.
pub struct HBar {
    /// What it counts.
    pub label: String,
    /// Its value, as text.
    pub value: String,
    /// Its top.
    pub y: u32,
    /// Its width, out of [`BAR_SPACE`].
    pub width: u32,
    /// Its CSS class.
    pub class: &'static str,
}

/// The width bars may take.
pub const BAR_SPACE: f64 = 420.0;
const ROW: u32 = 24;

/// Bars for `(label, value, shown, class)` rows.
pub fn hbars(items: Vec<(String, f64, String, &'static str)>) -> HBars {
    let max = items.iter().map(|i| i.1).fold(0.0_f64, f64::max);
    let rows: Vec<HBar> = items
        .into_iter()
        .zip(0u32..)
        .map(|((label, v, value, class), i)| HBar {
            label,
            value,
            y: i * ROW,
            width: if max > 0.0 {
                ((v / max) * BAR_SPACE).round().max(1.0) as u32
            } else {
                0
            },
            class,
        })
        .collect();
    let height = u32::try_from(rows.len()).unwrap_or(0) * ROW;
    HBars { rows, height }
}

/// Columns over time, each stacked from its parts.
pub struct Columns {
    /// The columns, oldest first.
    pub cols: Vec<Column>,
    /// The SVG's width.
    pub width: u32,
    /// The largest column's total.
    pub max: u64,
}

/// One column.
pub struct Column {
    /// Its left edge.
    pub x: u32,
    /// Its width.
    pub w: u32,
    /// Its parts, bottom first.
    pub parts: Vec<Part>,
    /// The tooltip: the bucket and its counts.
    pub title: String,
}

/// A part of a column.
pub struct Part {
    /// Its top.
    pub y: u32,
    /// Its height.
    pub h: u32,
    /// Its CSS class.
    pub class: &'static str,
}

/// The plot's height.
pub const PLOT_HEIGHT: f64 = 160.0;

/// Columns for `(title, [(count, class)])` buckets.
pub fn columns(buckets: Vec<(String, Vec<(u64, &'static str)>)>) -> Columns {
    let max = buckets
        .iter()
        .map(|(_, parts)| parts.iter().map(|p| p.0).sum::<u64>())
        .max()
        .unwrap_or(0);
    let n = u32::try_from(buckets.len()).unwrap_or(1).max(1);
    let step = (640 / n).clamp(4, 48);
    let cols = buckets
        .into_iter()
        .zip(0u32..)
        .map(|((title, parts), i)| {
            let mut top = PLOT_HEIGHT;
            let parts = parts
                .into_iter()
                .filter(|p| p.0 > 0)
                .map(|(count, class)| {
                    let h = if max > 0 {
                        count as f64 / max as f64 * PLOT_HEIGHT
                    } else {
                        0.0
                    };
                    top -= h;
                    Part {
                        y: top.round() as u32,
                        h: h.round().max(1.0) as u32,
                        class,
                    }
                })
                .collect();
            Column {
                x: i * step,
                w: step.saturating_sub(2).max(2),
                parts,
                title,
            }
        })
        .collect();
    Columns {
        cols,
        width: n * step,
        max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_columns_stack() {
        let b = hbars(vec![
            ("a".into(), 2.0, "2".into(), "x"),
            ("b".into(), 4.0, "4".into(), "x"),
        ]);
        assert_eq!(b.rows[1].width, BAR_SPACE as u32);
        assert_eq!(b.rows[0].width, (BAR_SPACE / 2.0) as u32);
        let c = columns(vec![
            ("t1".into(), vec![(1, "ok"), (1, "bad")]),
            ("t2".into(), vec![(4, "ok")]),
        ]);
        assert_eq!(c.max, 4);
        assert_eq!(c.cols[1].parts[0].h, PLOT_HEIGHT as u32);
        assert_eq!(
            c.cols[0].parts[0].y + c.cols[0].parts[0].h,
            PLOT_HEIGHT as u32
        );
        assert_eq!(
            c.cols[0].parts[1].y + c.cols[0].parts[1].h,
            c.cols[0].parts[0].y
        );
    }
}
