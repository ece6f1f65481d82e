//! Pictures of a rule set, drawn without any external program: the status
//! machine laid out by `layout-rs` (a Rust port of Graphviz's dot layout),
//! and the block / unblock matrices as role × reason tables drawn on the
//! same crate's SVG writer.

use super::graph::edges;
use super::RuleSet;
use crate::domain::Status;
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

/// One font size everywhere, the one layout-rs uses for its own edge
/// labels: the writer keeps its font classes in a hash map, so a second size
/// would make the output's order vary between runs.
const FONT: usize = 15;

fn look(fill: &str) -> StyleAttr {
    StyleAttr::new(Color::fast("black"), 1, Some(Color::fast(fill)), 4, FONT)
}

/// The status machine: one box per status, one arrow per (from, to) pair
/// labelled with every method and guard that takes it (dashed: no change).
pub fn status_machine(rules: &RuleSet) -> String {
    let mut vg = VisualGraph::new(Orientation::TopToBottom);
    let all = edges(rules);
    let nodes: Vec<_> = Status::ALL
        .iter()
        .map(|s| {
            // Calls that succeed without moving the card are written in the box:
            // layout-rs draws self-loops poorly.
            let mut stays: Vec<&str> = Vec::new();
            for (from, _, label, stay) in &all {
                if *stay && from == s && !stays.contains(&label.as_str()) {
                    stays.push(label);
                }
            }
            let mut label = format!("{} {}\n{}", rules.status_code(*s), s.ident(), rules.status_name(*s));
            if !stays.is_empty() {
                label.push_str(&format!("\nOK, no change: {}", stays.join(", ")));
            }
            let size = Point::new(30. + 8. * label_width(&label) as f64, 24. + 18. * label.lines().count() as f64);
            vg.add_node(Element::create(
                ShapeKind::new_box(&label),
                look("lightyellow"),
                Orientation::TopToBottom,
                size,
            ))
        })
        .collect();
    // Merge the rows that draw the same arrow into one label.
    let mut merged: Vec<(Status, Status, bool, Vec<String>)> = Vec::new();
    for (from, to, label, stay) in all.iter().filter(|e| !e.3).cloned() {
        match merged.iter_mut().find(|(f, t, s, _)| *f == from && *t == to && *s == stay) {
            Some(m) => {
                if !m.3.contains(&label) {
                    m.3.push(label)
                }
            }
            None => merged.push((from, to, stay, vec![label])),
        }
    }
    for (from, to, _, labels) in merged {
        let line = LineStyleKind::Normal;
        let arrow =
            Arrow::new(LineEndKind::None, LineEndKind::Arrow, line, &labels.join("\n"), &look("white"), &None, &None);
        vg.add_edge(arrow, nodes[from.index()], nodes[to.index()]);
    }
    let mut svg = Bounded::new();
    vg.do_it(false, false, false, &mut svg);
    svg.finish()
}

fn label_width(label: &str) -> usize {
    label.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// A table cell: its text and whether it allows.
type Row = (String, Vec<bool>);

/// The three matrices of SPEC §5.5–5.6 as the set has them: who may block
/// with which reason, who may lift which block, who may use which unblock
/// reason. Roles are columns, reasons rows.
pub fn matrices(rules: &RuleSet) -> String {
    let roles: Vec<String> = rules.role_names().map(str::to_string).collect();
    let bit = |mask: u64, i: usize| mask >> i & 1 == 1;
    let block: Vec<Row> = rules
        .block_reasons
        .iter()
        .map(|b| (format!("{} {}", b.code, b.name), (0..roles.len()).map(|i| bit(b.block_roles, i)).collect()))
        .collect();
    let lift: Vec<Row> = rules
        .block_reasons
        .iter()
        .map(|b| {
            let note = if b.is_final { " (final)" } else { "" };
            (
                format!("{} {}{note}", b.code, b.name),
                (0..roles.len()).map(|i| !b.is_final && bit(b.lift_roles, i)).collect(),
            )
        })
        .collect();
    let unblock: Vec<Row> = rules
        .unblock_reasons
        .iter()
        .map(|u| (format!("{} {}", u.code, u.name), (0..roles.len()).map(|i| bit(u.roles, i)).collect()))
        .collect();
    let mut svg = Bounded::new();
    let mut y = 10.;
    for (title, rows) in [
        ("Who may block with which reason (block_reasons.toml block_roles)", &block),
        ("Who may lift which block (block_reasons.toml lift_roles)", &lift),
        ("Who may use which unblock reason (unblock_reasons.toml roles)", &unblock),
    ] {
        y = table(&mut svg, y, title, &roles, rows) + 30.;
    }
    svg.finish()
}

/// Draws one table from `top`; returns its bottom.
fn table(svg: &mut Bounded, top: f64, title: &str, roles: &[String], rows: &[Row]) -> f64 {
    let first = 24. + 9.5 * rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(10) as f64;
    let col = 16. + 8.5 * roles.iter().map(|r| r.chars().count()).max().unwrap_or(5) as f64;
    let h = 28.;
    // layout-rs puts a line's top half an em above the point given: centre it.
    let text = |svg: &mut Bounded, x: f64, y: f64, s: &str| {
        svg.draw_text(Point::new(x, y + FONT as f64 / 2.), s, &look("white"))
    };
    let width = first + col * roles.len() as f64;
    text(svg, 10. + width / 2., top + h / 2., title);
    let y0 = top + h;
    svg.draw_rect(Point::new(10., y0), Point::new(first, h), &look("lightgray"), None, None);
    text(svg, 10. + first / 2., y0 + h / 2., "reason \\ role");
    for (i, r) in roles.iter().enumerate() {
        let x = 10. + first + col * i as f64;
        svg.draw_rect(Point::new(x, y0), Point::new(col, h), &look("lightgray"), None, None);
        text(svg, x + col / 2., y0 + h / 2., r);
    }
    for (j, (label, cells)) in rows.iter().enumerate() {
        let y = y0 + h * (j + 1) as f64;
        svg.draw_rect(Point::new(10., y), Point::new(first, h), &look("white"), None, None);
        text(svg, 10. + first / 2., y + h / 2., label);
        for (i, yes) in cells.iter().enumerate() {
            let x = 10. + first + col * i as f64;
            let fill = if *yes { "palegreen" } else { "mistyrose" };
            svg.draw_rect(Point::new(x, y), Point::new(col, h), &look(fill), None, None);
            text(svg, x + col / 2., y + h / 2., if *yes { "yes" } else { "–" });
        }
    }
    y0 + h * (rows.len() + 1) as f64
}

/// The SVG writer, with the picture's real extent kept: layout-rs sizes its
/// canvas from text lengths as if text ran downwards, which cuts wide labels
/// off and leaves space below.
struct Bounded {
    inner: SVGWriter,
    max: Point,
}

impl Bounded {
    fn new() -> Bounded {
        Bounded { inner: SVGWriter::new(), max: Point::new(0., 0.) }
    }

    fn grow(&mut self, x: f64, y: f64) {
        self.max = Point::new(self.max.x.max(x), self.max.y.max(y));
    }

    /// The SVG text with its canvas set to what was drawn, plus a margin.
    fn finish(&self) -> String {
        let svg = self.inner.finalize();
        let (w, h) = (self.max.x.ceil() + 20., self.max.y.ceil() + 20.);
        let Some(start) = svg.find("<svg ") else { return svg };
        let Some(len) = svg[start..].find('>') else { return svg };
        let head =
            format!("<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">");
        format!("{}{head}{}", &svg[..start], &svg[start + len + 1..])
    }
}

impl RenderBackend for Bounded {
    fn draw_rect(&mut self, xy: Point, size: Point, look: &StyleAttr, p: Option<String>, clip: Option<ClipHandle>) {
        self.grow(xy.x + size.x, xy.y + size.y);
        self.inner.draw_rect(xy, size, look, p, clip);
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, p: Option<String>) {
        self.grow(start.x.max(stop.x), start.y.max(stop.y));
        self.inner.draw_line(start, stop, look, p);
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, p: Option<String>) {
        self.grow(xy.x + size.x, xy.y + size.y);
        self.inner.draw_circle(xy, size, look, p);
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        // Centred text, about half an em per character.
        let half = label_width(text) as f64 * look.font_size as f64 * 0.27;
        let lines = text.lines().count().max(1) as f64;
        self.grow(xy.x + half, xy.y + lines * look.font_size as f64 / 2.);
        self.inner.draw_text(xy, text, look);
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        p: Option<String>,
        text: &str,
    ) {
        for (a, b) in path {
            self.grow(a.x.max(b.x), a.y.max(b.y));
        }
        self.inner.draw_arrow(path, dashed, head, look, p, text);
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded_px: usize) -> ClipHandle {
        self.inner.create_clip(xy, size, rounded_px)
    }
}
