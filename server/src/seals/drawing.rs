//! The CA-generated seal (CA生成印章): a round red seal drawn from the employer's name — the
//! name along the upper arc, laid out by arc length, a five-pointed star in the centre, a border
//! ring — in a Song-style CJK face (Noto Serif CJK SC). One geometry, in millimetres with y
//! downwards, and three outputs: a transparent PNG (the seal structure's picture, previews),
//! SVG (pages) and PDF drawing operators (stamped PDFs).
//!
//! The default size is the common norm for a limited company: 40 mm across, a 1 mm border,
//! characters about 6.5 mm high, and a star 14 mm across.

use std::fmt::Write as _;

use crate::failure::{Describe, Description, code};

/// The seal's red (#E60012, the red of seal ink on screen).
pub const SEAL_RED: (u8, u8, u8) = (0xE6, 0x00, 0x12);

/// The size of a round seal, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SealSize {
    /// Outer diameter.
    pub diameter: f32,
    /// Width of the border ring.
    pub border: f32,
}

impl Default for SealSize {
    /// 40 mm across with a 1 mm border: the common norm for a limited company's seal.
    fn default() -> Self {
        Self {
            diameter: 40.0,
            border: 1.0,
        }
    }
}

/// Why a seal could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrawError {
    /// The font file does not parse, or holds no Simplified Chinese face.
    #[error("seal font unusable: {0}")]
    Font(String),
    /// The name has a character the font cannot draw (a tofu box is never drawn).
    #[error("the seal font has no glyph for {0:?}")]
    GlyphMissing(char),
    /// Nothing to draw.
    #[error("empty seal name")]
    EmptyName,
}

impl Describe for DrawError {
    fn describe(&self) -> Description {
        match self {
            Self::Font(_) => Description::internal(),
            Self::GlyphMissing(ch) => Description::new(
                code::SEAL_GLYPH_MISSING,
                format!(
                    "单位名称中的“{ch}”无法用印章字体刻制，请改用“采集传统盖章”方式，或联系云南CA公司"
                ),
            ),
            Self::EmptyName => Description::new(code::SEAL_NAME_EMPTY, "印章名称不能为空"),
        }
    }
}

/// One step of an outline, in millimetres, y downwards.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Segment {
    Move(f32, f32),
    Line(f32, f32),
    Cubic(f32, f32, f32, f32, f32, f32),
    Close,
}

/// A round seal's geometry: the ring, and the filled outlines of the star and the name.
#[derive(Debug, Clone)]
pub struct RoundSeal {
    size: SealSize,
    /// The star's and the glyphs' outlines, filled with the non-zero rule.
    fill: Vec<Segment>,
}

/// The Simplified Chinese face of a font file (a collection such as NotoSerifCJK-Bold.ttc, or a
/// single font).
fn sc_face(font: &[u8]) -> Result<ttf_parser::Face<'_>, DrawError> {
    let count = ttf_parser::fonts_in_collection(font).unwrap_or(1);
    let mut first = None;
    for index in 0..count {
        let Ok(face) = ttf_parser::Face::parse(font, index) else {
            continue;
        };
        let family_sc = face.names().into_iter().any(|name| {
            name.name_id == ttf_parser::name_id::FAMILY
                && name
                    .to_string()
                    .is_some_and(|family| family.ends_with(" SC"))
        });
        if family_sc {
            return Ok(face);
        }
        first.get_or_insert(face);
    }
    first.ok_or_else(|| DrawError::Font("no face parses".into()))
}

/// Collects a glyph outline in font units.
struct Collect(Vec<Segment>);

impl ttf_parser::OutlineBuilder for Collect {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.push(Segment::Move(x, y));
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.0.push(Segment::Line(x, y));
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        // The cubic through the same points, from the current point.
        let (x0, y0) = match self.0.last() {
            Some(Segment::Move(x, y) | Segment::Line(x, y) | Segment::Cubic(.., x, y)) => (*x, *y),
            _ => (x1, y1),
        };
        self.0.push(Segment::Cubic(
            x0 + 2.0 / 3.0 * (x1 - x0),
            y0 + 2.0 / 3.0 * (y1 - y0),
            x + 2.0 / 3.0 * (x1 - x),
            y + 2.0 / 3.0 * (y1 - y),
            x,
            y,
        ));
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.0.push(Segment::Cubic(x1, y1, x2, y2, x, y));
    }
    fn close(&mut self) {
        self.0.push(Segment::Close);
    }
}

fn map(segments: &[Segment], f: impl Fn(f32, f32) -> (f32, f32)) -> Vec<Segment> {
    segments
        .iter()
        .map(|segment| match *segment {
            Segment::Move(x, y) => {
                let (x, y) = f(x, y);
                Segment::Move(x, y)
            }
            Segment::Line(x, y) => {
                let (x, y) = f(x, y);
                Segment::Line(x, y)
            }
            Segment::Cubic(x1, y1, x2, y2, x, y) => {
                let (x1, y1) = f(x1, y1);
                let (x2, y2) = f(x2, y2);
                let (x, y) = f(x, y);
                Segment::Cubic(x1, y1, x2, y2, x, y)
            }
            Segment::Close => Segment::Close,
        })
        .collect()
}

/// The largest angle the name may span, and the smallest (a short name is spread out).
const MAX_SPAN: f32 = 250.0 * std::f32::consts::PI / 180.0;
const MIN_SPAN: f32 = 150.0 * std::f32::consts::PI / 180.0;

impl RoundSeal {
    /// Lays out `name` in the face of `font` (a TrueType/OpenType file or collection) on a seal
    /// of `size`.
    ///
    /// # Errors
    ///
    /// [`DrawError::GlyphMissing`] for a character the font lacks, [`DrawError::Font`] for a
    /// font that does not parse, [`DrawError::EmptyName`].
    pub fn new(name: &str, font: &[u8], size: SealSize) -> Result<Self, DrawError> {
        let face = sc_face(font)?;
        let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
        if chars.is_empty() {
            return Err(DrawError::EmptyName);
        }
        let units = f32::from(face.units_per_em());
        let radius = size.diameter / 2.0;
        let scale = size.diameter / 40.0;
        // Characters about 6.5 mm high on a 40 mm seal, their middle 1.2 mm inside the ring.
        let em = 6.5 * scale;
        let text_radius = radius - size.border - 1.2 * scale - em / 2.0;
        let mut glyphs = Vec::with_capacity(chars.len());
        for ch in &chars {
            let id = face.glyph_index(*ch).ok_or(DrawError::GlyphMissing(*ch))?;
            let mut outline = Collect(Vec::new());
            // A glyph with no outline (a space-like character) would print nothing: refused.
            face.outline_glyph(id, &mut outline)
                .ok_or(DrawError::GlyphMissing(*ch))?;
            let advance = f32::from(face.glyph_hor_advance(id).unwrap_or(face.units_per_em()));
            glyphs.push((outline.0, advance * em / units));
        }
        // Arc length: glyphs keep their advance, compressed sideways past the largest span and
        // spaced out below the smallest.
        let natural: f32 = glyphs.iter().map(|(_, advance)| advance).sum();
        let span = (natural / text_radius).clamp(MIN_SPAN, MAX_SPAN);
        let arc = span * text_radius;
        let squeeze = (arc / natural).min(1.0);
        let gap = (arc - natural * squeeze) / glyphs.len() as f32;
        let (cx, cy) = (radius, radius);
        let mut fill = Vec::new();
        let mut along = -arc / 2.0;
        for (outline, advance) in &glyphs {
            let width = advance * squeeze;
            let angle = (along + gap / 2.0 + width / 2.0) / text_radius;
            along += width + gap;
            let (sin, cos) = angle.sin_cos();
            let (px, py) = (cx + text_radius * sin, cy - text_radius * cos);
            // Font units: the em box's middle at the origin, y up; then squeezed, scaled to mm
            // with y down, turned to face outwards, and moved onto the arc.
            let half_advance = advance * units / em / 2.0;
            let middle = units * 0.38;
            fill.extend(map(outline, |x, y| {
                let lx = (x - half_advance) * em / units * squeeze;
                let ly = -(y - middle) * em / units;
                (px + lx * cos - ly * sin, py + lx * sin + ly * cos)
            }));
        }
        fill.extend(star(cx, cy, 7.0 * scale));
        Ok(Self { size, fill })
    }

    /// The seal's diameter, mm.
    pub fn diameter(&self) -> f32 {
        self.size.diameter
    }

    fn ring_radius(&self) -> f32 {
        (self.size.diameter - self.size.border) / 2.0
    }

    /// A transparent PNG `pixels` wide and high.
    ///
    /// # Errors
    ///
    /// [`DrawError::Font`] only if the picture cannot be made (a zero size).
    pub fn png(&self, pixels: u32) -> Result<Vec<u8>, DrawError> {
        let fail = |what: &str| DrawError::Font(format!("cannot draw the seal: {what}"));
        let mut pixmap = tiny_skia::Pixmap::new(pixels, pixels).ok_or_else(|| fail("size"))?;
        let per_mm = pixels as f32 / self.size.diameter;
        let transform = tiny_skia::Transform::from_scale(per_mm, per_mm);
        let mut paint = tiny_skia::Paint::default();
        let (r, g, b) = SEAL_RED;
        paint.set_color_rgba8(r, g, b, 255);
        paint.anti_alias = true;
        let centre = self.size.diameter / 2.0;
        let ring = tiny_skia::PathBuilder::from_circle(centre, centre, self.ring_radius())
            .ok_or_else(|| fail("ring"))?;
        let stroke = tiny_skia::Stroke {
            width: self.size.border,
            ..tiny_skia::Stroke::default()
        };
        pixmap.stroke_path(&ring, &paint, &stroke, transform, None);
        let mut builder = tiny_skia::PathBuilder::new();
        for segment in &self.fill {
            match *segment {
                Segment::Move(x, y) => builder.move_to(x, y),
                Segment::Line(x, y) => builder.line_to(x, y),
                Segment::Cubic(x1, y1, x2, y2, x, y) => builder.cubic_to(x1, y1, x2, y2, x, y),
                Segment::Close => builder.close(),
            }
        }
        let shapes = builder.finish().ok_or_else(|| fail("outlines"))?;
        pixmap.fill_path(
            &shapes,
            &paint,
            tiny_skia::FillRule::Winding,
            transform,
            None,
        );
        pixmap.encode_png().map_err(|e| fail(&e.to_string()))
    }

    /// An SVG of the seal, sized in millimetres.
    pub fn svg(&self) -> String {
        let d = self.size.diameter;
        let (r, g, b) = SEAL_RED;
        let mut path = String::new();
        for segment in &self.fill {
            // Writing to a String cannot fail.
            let _ = match *segment {
                Segment::Move(x, y) => write!(path, "M{x:.3} {y:.3}"),
                Segment::Line(x, y) => write!(path, "L{x:.3} {y:.3}"),
                Segment::Cubic(x1, y1, x2, y2, x, y) => {
                    write!(path, "C{x1:.3} {y1:.3} {x2:.3} {y2:.3} {x:.3} {y:.3}")
                }
                Segment::Close => write!(path, "Z"),
            };
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{d}mm\" height=\"{d}mm\" \
             viewBox=\"0 0 {d} {d}\"><circle cx=\"{c}\" cy=\"{c}\" r=\"{ring:.3}\" fill=\"none\" \
             stroke=\"#{r:02X}{g:02X}{b:02X}\" stroke-width=\"{w}\"/><path d=\"{path}\" \
             fill=\"#{r:02X}{g:02X}{b:02X}\"/></svg>",
            c = d / 2.0,
            ring = self.ring_radius(),
            w = self.size.border,
        )
    }

    /// PDF content-stream operators that draw the seal with its lower-left corner at (`x`, `y`)
    /// points in PDF space (y upwards).
    pub fn pdf_operators(&self, x: f32, y: f32) -> String {
        const PT_PER_MM: f32 = 72.0 / 25.4;
        let d = self.size.diameter;
        // mm with y down → points with y up, at (x, y).
        let at = |mx: f32, my: f32| (x + mx * PT_PER_MM, y + (d - my) * PT_PER_MM);
        let (r, g, b) = SEAL_RED;
        let (r, g, b) = (
            f32::from(r) / 255.0,
            f32::from(g) / 255.0,
            f32::from(b) / 255.0,
        );
        let mut ops = format!("q {r:.3} {g:.3} {b:.3} rg {r:.3} {g:.3} {b:.3} RG\n");
        // The ring: four cubic quarter arcs.
        let c = d / 2.0;
        let ring = self.ring_radius();
        let k = 0.552_284_8 * ring;
        let quarter = |ops: &mut String, c1: (f32, f32), c2: (f32, f32), to: (f32, f32)| {
            let (c1x, c1y) = at(c1.0, c1.1);
            let (c2x, c2y) = at(c2.0, c2.1);
            let (tx, ty) = at(to.0, to.1);
            let _ = writeln!(ops, "{c1x:.2} {c1y:.2} {c2x:.2} {c2y:.2} {tx:.2} {ty:.2} c");
        };
        let (sx, sy) = at(c + ring, c);
        let _ = writeln!(
            ops,
            "{:.2} w {sx:.2} {sy:.2} m",
            self.size.border * PT_PER_MM
        );
        quarter(
            &mut ops,
            (c + ring, c + k),
            (c + k, c + ring),
            (c, c + ring),
        );
        quarter(
            &mut ops,
            (c - k, c + ring),
            (c - ring, c + k),
            (c - ring, c),
        );
        quarter(
            &mut ops,
            (c - ring, c - k),
            (c - k, c - ring),
            (c, c - ring),
        );
        quarter(
            &mut ops,
            (c + k, c - ring),
            (c + ring, c - k),
            (c + ring, c),
        );
        ops.push_str("h S\n");
        for segment in &self.fill {
            let _ = match *segment {
                Segment::Move(mx, my) => {
                    let (px, py) = at(mx, my);
                    writeln!(ops, "{px:.2} {py:.2} m")
                }
                Segment::Line(mx, my) => {
                    let (px, py) = at(mx, my);
                    writeln!(ops, "{px:.2} {py:.2} l")
                }
                Segment::Cubic(x1, y1, x2, y2, mx, my) => {
                    let (ax, ay) = at(x1, y1);
                    let (bx, by) = at(x2, y2);
                    let (px, py) = at(mx, my);
                    writeln!(ops, "{ax:.2} {ay:.2} {bx:.2} {by:.2} {px:.2} {py:.2} c")
                }
                Segment::Close => writeln!(ops, "h"),
            };
        }
        ops.push_str("f Q\n");
        ops
    }
}

/// A five-pointed star centred at (`cx`, `cy`), `outer` mm from centre to a point, one point up.
fn star(cx: f32, cy: f32, outer: f32) -> Vec<Segment> {
    // The inner vertices of a regular star lie at outer · sin 18° / sin 126°.
    let inner = outer * (18f32.to_radians().sin() / 126f32.to_radians().sin());
    let mut segments = Vec::with_capacity(11);
    for i in 0..10 {
        let r = if i % 2 == 0 { outer } else { inner };
        let angle = i as f32 * std::f32::consts::PI / 5.0;
        let (x, y) = (cx + r * angle.sin(), cy - r * angle.cos());
        segments.push(if i == 0 {
            Segment::Move(x, y)
        } else {
            Segment::Line(x, y)
        });
    }
    segments.push(Segment::Close);
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "昆明示例科技有限公司";

    fn font() -> Vec<u8> {
        std::fs::read(crate::seals::DEFAULT_SEAL_FONT)
            .expect("Debian's fonts-noto-cjk is installed (.ci/run installs it)")
    }

    fn rgba(png: &[u8]) -> image::RgbaImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .unwrap()
            .to_rgba8()
    }

    fn is_red(pixel: &image::Rgba<u8>) -> bool {
        let [r, g, b, a] = pixel.0;
        a > 200 && r > 200 && g < 60 && b < 80
    }

    #[test]
    fn a_seal_is_round_and_red_with_a_star_and_the_name_on_the_upper_arc() {
        let seal = RoundSeal::new(NAME, &font(), SealSize::default()).unwrap();
        let png = seal.png(400).unwrap();
        if let Ok(path) = std::env::var("MCERT_SEAL_PNG") {
            std::fs::write(path, &png).unwrap();
        }
        let image = rgba(&png);
        assert_eq!(image.dimensions(), (400, 400));
        // 10 px a millimetre: the ring at 19.5 mm from the centre, all round.
        for degrees in (0..360).step_by(15) {
            let (sin, cos) = (degrees as f32).to_radians().sin_cos();
            let (x, y) = (200.0 + 195.0 * sin, 200.0 - 195.0 * cos);
            assert!(
                is_red(image.get_pixel(x as u32, y as u32)),
                "ring at {degrees}°"
            );
        }
        // Outside the ring, nothing: the corners are transparent.
        for (x, y) in [(0, 0), (399, 0), (0, 399), (399, 399), (30, 30), (370, 370)] {
            assert_eq!(image.get_pixel(x, y).0[3], 0, "({x}, {y}) is transparent");
        }
        // The star's centre is ink; the lower arc (no text there) is bare inside the ring.
        assert!(is_red(image.get_pixel(200, 200)));
        assert_eq!(
            image.get_pixel(200, 340).0[3],
            0,
            "nothing on the lower arc"
        );
        // The name: ink in the band of the upper arc, spread over its width.
        let band = |x0: u32, x1: u32| {
            (x0..x1)
                .flat_map(|x| (20..90).map(move |y| (x, y)))
                .filter(|&(x, y)| is_red(image.get_pixel(x, y)))
                .count()
        };
        assert!(band(150, 250) > 500, "characters at the top");
        assert!(band(40, 110) > 200, "characters on the upper left");
        assert!(band(290, 360) > 200, "characters on the upper right");
    }

    #[test]
    fn svg_and_pdf_operators_draw_the_same_geometry() {
        let seal = RoundSeal::new(NAME, &font(), SealSize::default()).unwrap();
        let svg = seal.svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40mm\""));
        assert!(svg.contains("stroke=\"#E60012\" stroke-width=\"1\""));
        let moves = seal
            .fill
            .iter()
            .filter(|s| matches!(s, Segment::Move(..)))
            .count();
        assert_eq!(svg.matches('M').count(), moves);
        let ops = seal.pdf_operators(100.0, 200.0);
        assert!(ops.starts_with("q 0.902 0.000 0.071 rg"), "{}", &ops[..40]);
        assert!(ops.ends_with("f Q\n"));
        assert_eq!(ops.lines().filter(|l| l.ends_with(" m")).count(), moves + 1);
        // 40 mm is 113.39 pt: every point lies within the seal's square on the page.
        for line in ops.lines().filter(|l| l.ends_with(" l")) {
            let numbers: Vec<f32> = line
                .split(' ')
                .take(2)
                .map(|n| n.parse().unwrap())
                .collect();
            assert!((100.0..=213.4).contains(&numbers[0]), "{line}");
            assert!((200.0..=313.4).contains(&numbers[1]), "{line}");
        }
    }

    /// A one-page A4 PDF with the seal's operators at (`x`, `y`) points, rendered by poppler's
    /// `pdftoppm` at 72 dpi (one pixel a point).
    fn rendered_by_poppler(seal: &RoundSeal, x: f32, y: f32) -> image::RgbaImage {
        use lopdf::{Document, Object, Stream, dictionary};
        let mut document = Document::with_version("1.7");
        let pages_id = document.new_object_id();
        let contents = document.add_object(Stream::new(
            lopdf::Dictionary::new(),
            seal.pdf_operators(x, y).into_bytes(),
        ));
        let page = document.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => contents,
        });
        document.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => vec![page.into()],
                "Count" => 1,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            }),
        );
        let catalog = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        document.trailer.set("Root", catalog);
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("seal.pdf");
        document.save(&pdf).unwrap();
        let out = dir.path().join("page");
        let status = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "72", "-singlefile"])
            .arg(&pdf)
            .arg(&out)
            .status()
            .expect("poppler-utils is installed");
        assert!(status.success());
        rgba(&std::fs::read(dir.path().join("page.png")).unwrap())
    }

    #[test]
    fn poppler_draws_the_pdf_operators_where_asked() {
        let seal = RoundSeal::new(NAME, &font(), SealSize::default()).unwrap();
        // The seal's lower-left corner at (100, 200) pt: its centre at (156.7, 256.7) pt, which
        // is row 842 - 256.7 = 585 of the rendered page.
        let page = rendered_by_poppler(&seal, 100.0, 200.0);
        let red = |x: u32, y: u32| {
            let [r, g, b, _] = page.get_pixel(x, y).0;
            r > 200 && g < 80 && b < 100
        };
        assert!(red(157, 585), "the star");
        assert!(red(157, 842 - 200 - 113 + 1), "the ring's top");
        assert!(red(101, 585), "the ring's left");
        assert!(!red(157, 842 - 200 - 113 - 5), "nothing above the seal");
        assert!(!red(40, 40), "nothing elsewhere");
    }

    #[test]
    fn a_character_the_font_lacks_is_refused_never_drawn_as_a_box() {
        let error = RoundSeal::new("昆明😀科技有限公司", &font(), SealSize::default()).unwrap_err();
        assert!(matches!(error, DrawError::GlyphMissing('😀')), "{error}");
        let described = error.describe();
        assert_eq!(described.code, code::SEAL_GLYPH_MISSING);
        assert!(described.message.contains("😀"), "{}", described.message);
        assert!(matches!(
            RoundSeal::new("  ", &font(), SealSize::default()),
            Err(DrawError::EmptyName)
        ));
        assert!(matches!(
            RoundSeal::new(NAME, b"not a font", SealSize::default()),
            Err(DrawError::Font(_))
        ));
    }

    #[test]
    fn a_long_name_is_compressed_within_the_arc_and_a_short_one_spread() {
        let font = font();
        for name in [
            "云南示例有限公司",
            "昆明市五华区某某某某某某某某科技发展有限责任公司",
        ] {
            let seal = RoundSeal::new(name, &font, SealSize::default()).unwrap();
            let image = rgba(&seal.png(400).unwrap());
            // Nothing below the horizontal line 4 mm under the centre but the star's lower
            // points and the ring: the name stays on the upper arc.
            let low_ink = (0..400)
                .flat_map(|x| (300..370).map(move |y| (x, y)))
                .filter(|&(x, y)| {
                    let (dx, dy) = (x as f32 - 200.0, y as f32 - 200.0);
                    (dx * dx + dy * dy).sqrt() < 185.0 && is_red(image.get_pixel(x, y))
                })
                .count();
            assert_eq!(low_ink, 0, "{name}");
        }
    }
}
