//! The pre-filled paper application form (seed 003: 用人单位数字证书业务申请表, with the
//! electronic certification service agreement on its back) as an A4 PDF that the applicant
//! prints, stamps and uploads in the CA step of the wizard.
//!
//! Text is set in STSong-Light, a standard CJK font that PDF readers supply or substitute: a Type0
//! font over a `CIDFontType0` descendant (Adobe-GB1) with the `UniGB-UCS2-H` encoding, so a
//! string is the text's UTF-16BE code units, two bytes a character. Nothing is embedded for it. A
//! `ToUnicode` CMap makes the text extractable and searchable. Widths are the font's `/W` array:
//! printable ASCII is half width, everything else full width; line wrapping uses the same table.
//!
//! A character of a filled value that STSong-Light lacks (a 生僻字 of CJK Extension B, the middle
//! dot of 买买提·艾力, the ñ of Núñez) is drawn with the first configured fallback font that has
//! it ([`FormFonts`]): a subset of that TrueType font holding just the document's glyphs is
//! embedded as a Type0 font over a `CIDFontType2` descendant with `Identity-H` codes (CID `n` is
//! the `n`-th character, a `CIDToGIDMap` stream finds its glyph), its real advances in `/W`, and
//! its own `ToUnicode` CMap, so extracted text is the text. A form without such characters
//! embeds nothing. What may be drawn this way, and so what input accepts, is the domain's rule
//! ([`crate::domain::printable`]); [`render`] refuses anything else before drawing.
//!
//! The output is deterministic: no dates but the form's own, no random document id, fallback
//! glyphs numbered in code point order and the subset's tag derived from them.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use chrono::{Datelike, NaiveDate};
use lopdf::{
    Dictionary, Document, Object, ObjectId, Stream, StringFormat,
    content::{Content, Operation},
    dictionary,
};

use super::{
    agreement::{self, AGREEMENT_TITLE},
    form_fonts::{FormFonts, Subset, SubsetError},
};
use crate::domain::{
    DomainError, PrintedField, check_printable,
    printable::{in_standard_font, needs_fallback},
};

// Page geometry, in PDF points (1/72 in).
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 42.0;
const MARGIN_TOP: f32 = 40.0;
const MARGIN_BOTTOM: f32 = 40.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
const CONTENT_LEFT: f32 = MARGIN_X;
const CONTENT_RIGHT: f32 = PAGE_WIDTH - MARGIN_X;
/// Baseline of the footer (申请编号, page number).
const FOOTER_BASELINE: f32 = 24.0;
/// Space under the title of a page.
const TITLE_GAP: f32 = 10.0;
/// Space between the blocks of page 1 (instructions, table, closing note).
const BLOCK_GAP: f32 = 5.0;

// The font.
const FONT_RESOURCE: &str = "F1";
/// Encoding of the fallback fonts: two-byte codes that are CIDs.
const FALLBACK_ENCODING: &str = "Identity-H";
/// `StemV` of a fallback font's descriptor; TrueType fonts do not record it and readers use it
/// only to synthesise a substitute, which an embedded font never needs.
const FALLBACK_STEM_V: i64 = 80;
const FONT_NAME: &str = "STSong-Light";
const FONT_ENCODING: &str = "UniGB-UCS2-H";
/// Supplement of Adobe-GB1 that `UniGB-UCS2-H` refers to.
const FONT_SUPPLEMENT: i64 = 4;
/// Advance of every glyph but printable ASCII, in thousandths of the font size.
const FULL_WIDTH: u16 = 1000;
/// Advance of printable ASCII.
const HALF_WIDTH: u16 = 500;
/// First and last CID of printable ASCII (U+0020–U+007E) under `UniGB-UCS2-H`.
const HALF_WIDTH_CIDS: (i64, i64) = (1, 95);
/// Baseline below the top of the em box, in font sizes (Adobe-GB1 ideographs sit on -120/880).
const ASCENT: f32 = 0.88;
/// Distance between baselines, in font sizes.
const LINE_SPACING: f32 = 1.35;
/// Stroke width that fakes a bold weight (text rendering mode 2: fill, then stroke).
const BOLD_STROKE: f32 = 0.3;

// Font sizes, in points.
const TITLE_SIZE: f32 = 18.0;
const AGREEMENT_TITLE_SIZE: f32 = 14.0;
const BODY_SIZE: f32 = 10.0;
const AGREEMENT_SIZE: f32 = 9.0;
/// Baseline distance in the agreement, tighter than the form's so that it fits one page.
const AGREEMENT_LEADING: f32 = AGREEMENT_SIZE * 1.3;
/// Room above the agreement's stamp line for the seal to overlap.
const AGREEMENT_STAMP_ROOM: f32 = 40.0;
/// Extra space above an article heading of the agreement.
const HEADING_GAP: f32 = 3.0;
/// Extra space between the agreement's paragraphs.
const PARAGRAPH_GAP: f32 = 1.5;
const NOTE_SIZE: f32 = 8.5;
const FOOTER_SIZE: f32 = 7.5;
/// Smallest size a long filled value shrinks to before its row grows instead.
const MIN_VALUE_SIZE: f32 = 6.5;
/// How far a long value shrinks per try.
const SHRINK_STEP: f32 = 0.5;

// The table of page 1.
const TABLE_LINE_WIDTH: f32 = 0.7;
const LABEL_WIDTH: f32 = 112.0;
const CELL_PADDING: f32 = 4.0;
const MIN_ROW_HEIGHT: f32 = 24.0;
/// Lines a filled value may take before it shrinks.
const VALUE_MAX_LINES: usize = 2;
const HEADER_GRAY: f32 = 0.9;
/// Side of a stamp box: room for a 42 mm round official seal (119 pt) and a little margin.
const SEAL_BOX: f32 = 136.0;
/// Height of the bottom row (applicant's stamp and date | the CA's part).
const SIGNATURE_ROW_HEIGHT: f32 = 136.0;
/// Length of a blank to be written on by hand.
const BLANK_LENGTH: f32 = 90.0;
/// How far a blank's line sits under the baseline.
const UNDERLINE_DROP: f32 = 2.0;
/// Distance of text from the sides of the bottom row, wider than a cell's padding.
const SIGNATURE_INSET: f32 = 8.0;
/// Extra space between the groups of the CA's part of the bottom row.
const GROUP_GAP: f32 = 3.0;
/// Side of a checkbox, in font sizes.
const CHECKBOX_SIDE: f32 = 0.72;
const CHECKBOX_LINE_WIDTH: f32 = 0.6;
const TICK_LINE_WIDTH: f32 = 0.9;

// Checkboxes are written into text as these characters and drawn as rectangles, because
// Adobe-GB1 has no ballot box glyph; the text itself gets an ideographic space in their place.
const UNCHECKED: char = '☐';
const CHECKED: char = '☑';
const IDEOGRAPHIC_SPACE: char = '\u{3000}';
/// Stand-in for a character the font cannot encode (〓, the typesetter's missing-glyph mark).
const GETA_MARK: char = '〓';

/// Characters that may not begin a line (Chinese line-breaking rules).
const NO_LINE_START: &str = "，。、；：？！）》」』”’・…—,.;:?!)]}%";
/// Characters that may not end a line.
const NO_LINE_END: &str = "（《「『“‘([{";

const FORM_TITLE: &str = "用人单位数字证书业务申请表";
const INSTRUCTIONS: &str = "申请单位除携带本申请表和协议（一式两份）外，还须携带以下资料(所有资料均需加盖单位公章，一式一份)：1.国家行政机关和事业单位：统一社会信用代码证或者事业单位法人证书复印件、经办人有效身份证复印件；2.社会团体：社会团体法人登记证(副本)复印件、经办人有效身份证件复印件；3.企业和个体经营者：营业执照（副本）复印件、经办人有效身份证件复印件。";
const SEAL_AREA_NOTE: &str = "(请在两个方框内清晰的盖上单位公章，不要超出框外，以便于制作电子印章)";
const FILING_NUMBER_NOTE: &str = "注：如公章上有备案编号，请在印章旁手工填写编号";
const READ_AGREEMENT_NOTE: &str = "注意事项：在填申请表之前，请仔细阅读此页背面的《云南省数字证书认证中心有限公司电子认证服务协议》。";
const CA_CHECKS: [&str; 3] = [
    "● 已审核申请单位及办理人身份",
    "● 已核对受理表上填写的信息及相关证明材料",
    "● 已对用户所申请业务进行了办理",
];

/// The values printed into the form, taken from the application's enterprise and agent steps.
#[derive(Clone, PartialEq, Eq)]
pub struct FormFields {
    /// Printed in the footer, so that an uploaded scan can be matched to its application.
    pub application_id: i64,
    /// 单位名称.
    pub unit_name: String,
    /// 单位住所（地址）.
    pub address: String,
    /// Six-digit administrative division code of the county (GB/T 2260).
    pub region_code: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// 单位联系电话.
    pub contact_phone: Option<String>,
    /// 经办人手机号码.
    pub agent_phone: String,
    /// 法定代表人姓名.
    pub legal_representative_name: String,
    /// 营业执照或法人证书登记机关.
    pub registration_authority: Option<String>,
    /// 法定代表人身份证号码.
    pub legal_representative_id: String,
    /// 经办人姓名, the person the unit authorises.
    pub agent_name: String,
    /// 被授权人身份证号码.
    pub agent_id: String,
    /// Whether the unit applies for an electronic seal (the stamp boxes are for making it).
    pub seal_wanted: bool,
    /// 申请日期.
    pub generated_on: NaiveDate,
}

impl fmt::Debug for FormFields {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("FormFields")
            .field("application_id", &self.application_id)
            .field("unit_name", &self.unit_name)
            .field("address", &self.address)
            .field("region_code", &self.region_code)
            .field("uscc", &self.uscc)
            .field("contact_phone", &self.contact_phone)
            .field("agent_phone", &self.agent_phone)
            .field("legal_representative_name", &self.legal_representative_name)
            .field("registration_authority", &self.registration_authority)
            .field(
                "legal_representative_id",
                &masked(&self.legal_representative_id),
            )
            .field("agent_name", &self.agent_name)
            .field("agent_id", &masked(&self.agent_id))
            .field("seal_wanted", &self.seal_wanted)
            .field("generated_on", &self.generated_on)
            .finish()
    }
}

/// An ID number with all but its first 6 and last 4 characters replaced by `*`.
fn masked(id: &str) -> String {
    const HEAD: usize = 6;
    const TAIL: usize = 4;
    let count = id.chars().count();
    if count <= HEAD + TAIL {
        return "*".repeat(count);
    }
    id.chars()
        .enumerate()
        .map(|(index, c)| {
            if index < HEAD || index >= count - TAIL {
                c
            } else {
                '*'
            }
        })
        .collect()
}

impl FormFields {
    /// The printed values with the fields they fill.
    fn texts(&self) -> [(PrintedField, &str); 11] {
        [
            (PrintedField::UnitName, &self.unit_name),
            (PrintedField::Address, &self.address),
            (PrintedField::RegionCode, &self.region_code),
            (PrintedField::Uscc, &self.uscc),
            (
                PrintedField::ContactPhone,
                self.contact_phone.as_deref().unwrap_or(""),
            ),
            (PrintedField::AgentPhone, &self.agent_phone),
            (
                PrintedField::LegalRepresentativeName,
                &self.legal_representative_name,
            ),
            (
                PrintedField::RegistrationAuthority,
                self.registration_authority.as_deref().unwrap_or(""),
            ),
            (
                PrintedField::LegalRepresentativeId,
                &self.legal_representative_id,
            ),
            (PrintedField::AgentName, &self.agent_name),
            (PrintedField::AgentId, &self.agent_id),
        ]
    }

    /// Refuses a value the fonts cannot print rather than printing it wrong: the same check the
    /// wizard's steps made, so it fails only for a value saved under other fonts.
    fn check_printable(&self, fonts: &FormFonts) -> Result<(), DomainError> {
        for (field, value) in self.texts() {
            check_printable(field, value, fonts)?;
        }
        Ok(())
    }
}

/// Why the form could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormPdfError {
    /// A value holds a character neither STSong-Light nor a fallback font can print. The
    /// wizard refuses such values; one saved while other fallback fonts were configured can
    /// still hold one, and the applicant then edits the step the error names.
    #[error(transparent)]
    Unprintable(#[from] DomainError),
    /// A fallback font could not be subset (it changed on disk since start-up).
    #[error("fallback font subset failed")]
    Subset(#[from] SubsetError),
    /// The filled values need more room than page 1 has. Values within the wizard's length
    /// limits always fit; this guards longer ones.
    #[error("the filled form is {excess_points} pt taller than its page")]
    PageOverflow {
        /// How far, rounded up.
        excess_points: u32,
    },
    /// lopdf could not encode a content stream.
    #[error("PDF encoding failed")]
    Pdf(#[from] lopdf::Error),
    /// Writing the document failed.
    #[error("PDF writing failed")]
    Write(#[from] std::io::Error),
}

/// Renders the filled form (page 1) and the agreement (page 2; it would continue on further
/// pages if it outgrew one) as PDF bytes.
#[tracing::instrument(skip_all, fields(application_id = fields.application_id))]
pub fn render(fields: &FormFields, fonts: &FormFonts) -> Result<Vec<u8>, FormPdfError> {
    fields.check_printable(fonts)?;
    let typeface = Typeface::for_fields(fields, fonts)?;
    let mut pages = vec![form_page(fields, &typeface)?];
    pages.extend(agreement_pages(fields.generated_on, &typeface));
    let total = pages.len();
    for (index, page) in pages.iter_mut().enumerate() {
        page.footer(fields.application_id, index + 1, total);
    }
    write_document(&pages, &typeface)
}

// ---------------------------------------------------------------------------------------------
// Fonts, text metrics and wrapping.

/// Where a character STSong-Light lacks is drawn.
#[derive(Debug, Clone, Copy)]
struct FallbackGlyph {
    /// Index of its subset in [`Typeface::subsets`].
    subset: usize,
    /// Its CID (and code) in that font.
    cid: u16,
    /// Its advance, in thousandths of the font size.
    advance: u16,
}

/// The fonts of one document: STSong-Light, and the subsets of fallback fonts that draw the
/// filled values' characters it lacks (none for most forms).
struct Typeface {
    /// One per fallback font the document uses, in the order the fonts are configured.
    subsets: Vec<Subset>,
    fallback: BTreeMap<char, FallbackGlyph>,
}

/// The font a run of text is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FontChoice {
    Standard,
    /// Index into [`Typeface::subsets`].
    Fallback(usize),
}

impl FontChoice {
    /// The font's name in the pages' resources.
    fn resource(self) -> Object {
        match self {
            Self::Standard => FONT_RESOURCE.into(),
            Self::Fallback(index) => Object::Name(format!("F{}", index + 2).into_bytes()),
        }
    }
}

impl Typeface {
    /// STSong-Light alone.
    fn standard() -> Self {
        Self {
            subsets: Vec::new(),
            fallback: BTreeMap::new(),
        }
    }

    /// STSong-Light, and a subset of each fallback font for the characters of `fields` that
    /// STSong-Light lacks and that font is the first to have. The form's own text is all
    /// STSong-Light's (a test checks).
    fn for_fields(fields: &FormFields, fonts: &FormFonts) -> Result<Self, SubsetError> {
        let wanted: BTreeSet<char> = fields
            .texts()
            .iter()
            .flat_map(|(_, text)| text.chars())
            .filter(|&c| needs_fallback(c))
            .collect();
        let mut by_font: BTreeMap<usize, Vec<char>> = BTreeMap::new();
        for character in wanted {
            // A character no font has was refused by the printable check already.
            if let Some(font) = fonts.font_for(character) {
                by_font.entry(font).or_default().push(character);
            }
        }
        let mut typeface = Self::standard();
        for (font, characters) in by_font {
            let Some(font) = fonts.fallbacks().get(font) else {
                continue;
            };
            let subset = font.subset(&characters)?;
            let index = typeface.subsets.len();
            for (position, glyph) in subset.glyphs.iter().enumerate() {
                let cid = u16::try_from(position + 1).map_err(|_| SubsetError::TooManyGlyphs)?;
                typeface.fallback.insert(
                    glyph.character,
                    FallbackGlyph {
                        subset: index,
                        cid,
                        advance: glyph.advance,
                    },
                );
            }
            typeface.subsets.push(subset);
        }
        Ok(typeface)
    }

    /// Advance of `c` in thousandths of the font size: the fonts' `/W` arrays, as a function.
    fn advance(&self, c: char) -> u16 {
        if let Some(glyph) = self.fallback.get(&c) {
            glyph.advance
        } else if (' '..='~').contains(&c) {
            HALF_WIDTH
        } else {
            FULL_WIDTH
        }
    }

    /// Width of `c` set at `size`, in points.
    fn char_width(&self, c: char, size: f32) -> f32 {
        f32::from(self.advance(c)) * size / 1000.0
    }

    /// Width of `text` set at `size`, in points.
    fn text_width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.char_width(c, size)).sum()
    }

    /// `text` as runs of one font each, with the codes that draw them: UTF-16BE code units for
    /// STSong-Light (the codes of `UniGB-UCS2-H`), two-byte CIDs for a fallback font. Checkbox
    /// characters become ideographic spaces, over which the boxes are drawn.
    fn runs(&self, text: &str) -> Vec<(FontChoice, Object)> {
        let mut runs: Vec<(FontChoice, Vec<u8>)> = Vec::new();
        for c in text.chars() {
            let (font, code) = match self.fallback.get(&c) {
                Some(glyph) => (FontChoice::Fallback(glyph.subset), glyph.cid),
                None => {
                    let c = match c {
                        UNCHECKED | CHECKED => IDEOGRAPHIC_SPACE,
                        c if in_standard_font(c) => c,
                        _ => GETA_MARK,
                    };
                    // Within the Basic Multilingual Plane: one code unit.
                    let mut units = [0u16; 2];
                    (FontChoice::Standard, c.encode_utf16(&mut units)[0])
                }
            };
            match runs.last_mut() {
                Some((last, bytes)) if *last == font => bytes.extend(code.to_be_bytes()),
                _ => runs.push((font, code.to_be_bytes().to_vec())),
            }
        }
        if runs.is_empty() {
            runs.push((FontChoice::Standard, Vec::new()));
        }
        runs.into_iter()
            .map(|(font, bytes)| (font, Object::String(bytes, StringFormat::Hexadecimal)))
            .collect()
    }
}

fn leading(size: f32) -> f32 {
    size * LINE_SPACING
}

/// Baseline of text at `size` whose em box is centred on the height `middle`.
fn baseline_centred_on(middle: f32, size: f32) -> f32 {
    middle - (ASCENT - 0.5) * size
}

/// Baseline of text at `size` in a line box of `line_height` whose top is `line_top`.
fn baseline_in_line(line_top: f32, line_height: f32, size: f32) -> f32 {
    baseline_centred_on(line_top - line_height / 2.0, size)
}

/// Splits text into the pieces a line may break between: runs of printable non-space ASCII
/// (words, numbers, a URL) stay whole; every other character stands alone.
fn break_units(text: &str) -> Vec<&str> {
    let mut units = Vec::new();
    let mut word_start = None;
    for (index, c) in text.char_indices() {
        if c.is_ascii_graphic() {
            word_start.get_or_insert(index);
            continue;
        }
        if let Some(start) = word_start.take() {
            units.push(&text[start..index]);
        }
        units.push(&text[index..index + c.len_utf8()]);
    }
    if let Some(start) = word_start {
        units.push(&text[start..]);
    }
    units
}

fn starts_with_any(unit: &str, set: &str) -> bool {
    unit.chars().next().is_some_and(|c| set.contains(c))
}

fn ends_with_any(unit: &str, set: &str) -> bool {
    unit.chars().next_back().is_some_and(|c| set.contains(c))
}

/// Breaks `text` into lines no wider than `width` at `size`, keeping closing punctuation off the
/// start of a line and opening punctuation off its end. A space at a break is dropped.
fn wrap(typeface: &Typeface, text: &str, size: f32, width: f32) -> Vec<String> {
    let text_width = |text: &str, size: f32| typeface.text_width(text, size);
    let mut lines: Vec<String> = Vec::new();
    let mut line: Vec<&str> = Vec::new();
    let fits = |line: &[&str], unit: &str| {
        text_width(&line.concat(), size) + text_width(unit, size) <= width
    };
    let flush = |lines: &mut Vec<String>, line: &mut Vec<&str>| {
        lines.push(line.concat().trim_end().to_string());
        line.clear();
    };
    for unit in break_units(text) {
        if fits(&line, unit) {
            if !(line.is_empty() && unit == " ") {
                line.push(unit);
            }
            continue;
        }
        if unit == " " {
            flush(&mut lines, &mut line);
            continue;
        }
        if text_width(unit, size) > width {
            // A word wider than the line: break it anywhere.
            for piece in unit.split_inclusive(|_: char| true) {
                if !fits(&line, piece) && !line.is_empty() {
                    flush(&mut lines, &mut line);
                }
                line.push(piece);
            }
            continue;
        }
        // Carry characters that must not end a line, or must not be left behind by the
        // punctuation that starts the next one, down with it.
        let mut carried = Vec::new();
        if starts_with_any(unit, NO_LINE_START) && line.len() > 1 {
            carried.extend(line.pop());
        }
        while line.len() > 1
            && line
                .last()
                .is_some_and(|last| ends_with_any(last, NO_LINE_END))
        {
            carried.extend(line.pop());
        }
        flush(&mut lines, &mut line);
        line.extend(carried.into_iter().rev());
        line.push(unit);
    }
    if !line.is_empty() || lines.is_empty() {
        flush(&mut lines, &mut line);
    }
    lines
}

/// Lines of text set at one size.
#[derive(Debug)]
struct TextBlock {
    size: f32,
    lines: Vec<String>,
}

impl TextBlock {
    fn wrapped(typeface: &Typeface, text: &str, size: f32, width: f32) -> Self {
        Self {
            size,
            lines: wrap(typeface, text, size, width),
        }
    }

    /// `text` at the largest size from `size` down to [`MIN_VALUE_SIZE`] at which it takes at
    /// most `max_lines` lines; at the smallest size it takes as many as it needs.
    fn fitted(typeface: &Typeface, text: &str, size: f32, width: f32, max_lines: usize) -> Self {
        let mut size = size;
        loop {
            let block = Self::wrapped(typeface, text, size, width);
            if block.lines.len() <= max_lines || size - SHRINK_STEP < MIN_VALUE_SIZE {
                return block;
            }
            size -= SHRINK_STEP;
        }
    }

    fn height(&self) -> f32 {
        self.lines.len() as f32 * leading(self.size)
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

/// The content stream of one page being drawn. Coordinates are PDF points from the bottom left.
struct Canvas<'t> {
    typeface: &'t Typeface,
    operations: Vec<Operation>,
}

/// A coordinate rounded to hundredths of a point, which keeps the content stream short.
fn coordinate(value: f32) -> Object {
    Object::Real((value * 100.0).round() / 100.0)
}

fn op(operator: &str, operands: Vec<Object>) -> Operation {
    Operation::new(operator, operands)
}

impl<'t> Canvas<'t> {
    fn new(typeface: &'t Typeface) -> Self {
        Self {
            typeface,
            operations: Vec::new(),
        }
    }

    fn text_width(&self, text: &str, size: f32) -> f32 {
        self.typeface.text_width(text, size)
    }

    /// One line of text with its baseline at `baseline`, switching fonts where a character is
    /// a fallback font's; checkbox characters become boxes.
    fn text(&mut self, x: f32, baseline: f32, size: f32, text: &str, weight: Weight) {
        let bold = weight == Weight::Bold;
        if bold {
            self.operations.push(op("q", vec![]));
            self.operations.push(op("w", vec![coordinate(BOLD_STROKE)]));
        }
        // Text rendering mode: 0 fills the glyphs, 2 fills and strokes them.
        let mode: i64 = if bold { 2 } else { 0 };
        self.operations.push(op("BT", vec![]));
        for (index, (font, codes)) in self.typeface.runs(text).into_iter().enumerate() {
            self.operations
                .push(op("Tf", vec![font.resource(), coordinate(size)]));
            if index == 0 {
                self.operations.extend([
                    op("Tr", vec![mode.into()]),
                    op("Td", vec![coordinate(x), coordinate(baseline)]),
                ]);
            }
            self.operations.push(op("Tj", vec![codes]));
        }
        self.operations.push(op("ET", vec![]));
        if bold {
            self.operations.push(op("Q", vec![]));
        }
        let mut offset = 0.0;
        for c in text.chars() {
            if c == UNCHECKED || c == CHECKED {
                self.checkbox(x + offset, baseline, size, c == CHECKED);
            }
            offset += self.typeface.char_width(c, size);
        }
    }

    fn text_centered(&mut self, center: f32, baseline: f32, size: f32, text: &str, weight: Weight) {
        let x = center - self.text_width(text, size) / 2.0;
        self.text(x, baseline, size, text, weight);
    }

    fn text_right(&mut self, right: f32, baseline: f32, size: f32, text: &str) {
        let x = right - self.text_width(text, size);
        self.text(x, baseline, size, text, Weight::Regular);
    }

    /// Draws `block` in the column from `x` of `width`, its first line box starting at `top`.
    fn block(&mut self, x: f32, width: f32, top: f32, block: &TextBlock, align: Align) {
        let size = block.size;
        let line_height = leading(size);
        for (index, line) in block.lines.iter().enumerate() {
            let line_top = top - index as f32 * line_height;
            let baseline = baseline_in_line(line_top, line_height, size);
            match align {
                Align::Left => self.text(x, baseline, size, line, Weight::Regular),
                Align::Center => {
                    self.text_centered(x + width / 2.0, baseline, size, line, Weight::Regular)
                }
            }
        }
    }

    /// Draws `block` centred vertically in the cell `[bottom, top]`.
    fn block_in_cell(
        &mut self,
        x: f32,
        width: f32,
        top: f32,
        bottom: f32,
        block: &TextBlock,
        align: Align,
    ) {
        let block_top = top - ((top - bottom) - block.height()) / 2.0;
        self.block(
            x + CELL_PADDING,
            width - 2.0 * CELL_PADDING,
            block_top,
            block,
            align,
        );
    }

    /// A wrapped paragraph starting at `top`; returns the top of what follows it.
    fn paragraph(&mut self, x: f32, top: f32, width: f32, size: f32, text: &str) -> f32 {
        let block = TextBlock::wrapped(self.typeface, text, size, width);
        self.block(x, width, top, &block, Align::Left);
        top - block.height()
    }

    fn line(&mut self, from: (f32, f32), to: (f32, f32)) {
        self.operations.extend([
            op("m", vec![coordinate(from.0), coordinate(from.1)]),
            op("l", vec![coordinate(to.0), coordinate(to.1)]),
            op("S", vec![]),
        ]);
    }

    /// The outline of a rectangle whose lower left corner is `(x, y)`.
    fn rect(&mut self, x: f32, y: f32, width: f32, height: f32) {
        self.operations.extend([
            op(
                "re",
                vec![
                    coordinate(x),
                    coordinate(y),
                    coordinate(width),
                    coordinate(height),
                ],
            ),
            op("S", vec![]),
        ]);
    }

    fn fill_rect(&mut self, x: f32, y: f32, width: f32, height: f32, gray: f32) {
        self.operations.extend([
            op("q", vec![]),
            op("g", vec![coordinate(gray)]),
            op(
                "re",
                vec![
                    coordinate(x),
                    coordinate(y),
                    coordinate(width),
                    coordinate(height),
                ],
            ),
            op("f", vec![]),
            op("Q", vec![]),
        ]);
    }

    /// A box in the em square of the character at `x` on `baseline`, ticked if `checked`.
    fn checkbox(&mut self, x: f32, baseline: f32, size: f32, checked: bool) {
        let side = CHECKBOX_SIDE * size;
        let left = x + (size - side) / 2.0;
        // The em box is centred where `baseline_centred_on` puts it.
        let bottom = baseline + (ASCENT - 0.5) * size - side / 2.0;
        self.operations.extend([
            op("q", vec![]),
            op("w", vec![coordinate(CHECKBOX_LINE_WIDTH)]),
        ]);
        self.rect(left, bottom, side, side);
        if checked {
            let point =
                |u: f32, v: f32| vec![coordinate(left + u * side), coordinate(bottom + v * side)];
            self.operations.extend([
                op("w", vec![coordinate(TICK_LINE_WIDTH)]),
                op("m", point(0.18, 0.52)),
                op("l", point(0.42, 0.22)),
                op("l", point(0.86, 0.86)),
                op("S", vec![]),
            ]);
        }
        self.operations.push(op("Q", vec![]));
    }

    /// A blank to write on by hand: a line under the baseline.
    fn blank(&mut self, x: f32, baseline: f32, length: f32) {
        let y = baseline - UNDERLINE_DROP;
        self.line((x, y), (x + length, y));
    }

    fn set_line_width(&mut self, width: f32) {
        self.operations.push(op("w", vec![coordinate(width)]));
    }

    fn footer(&mut self, application_id: i64, page: usize, total: usize) {
        let id = format!("申请编号 {application_id}");
        self.text(
            CONTENT_LEFT,
            FOOTER_BASELINE,
            FOOTER_SIZE,
            &id,
            Weight::Regular,
        );
        let number = format!("第 {page} 页 共 {total} 页");
        self.text_right(CONTENT_RIGHT, FOOTER_BASELINE, FOOTER_SIZE, &number);
    }
}

/// `2025 年 6 月 3 日`, as the form's date blanks are filled in.
fn chinese_date(date: NaiveDate) -> String {
    format!("{} 年 {} 月 {} 日", date.year(), date.month(), date.day())
}

// ---------------------------------------------------------------------------------------------
// Page 1: the form.

/// The table of page 1, drawn row by row from the top down.
struct Table<'a, 't> {
    canvas: &'a mut Canvas<'t>,
    /// Top of the next row.
    top: f32,
}

impl Table<'_, '_> {
    /// A shaded row with a centred heading.
    fn heading(&mut self, text: &str) {
        let height = MIN_ROW_HEIGHT;
        let bottom = self.top - height;
        self.canvas
            .fill_rect(CONTENT_LEFT, bottom, CONTENT_WIDTH, height, HEADER_GRAY);
        self.canvas
            .rect(CONTENT_LEFT, bottom, CONTENT_WIDTH, height);
        let baseline = baseline_centred_on(bottom + height / 2.0, BODY_SIZE);
        self.canvas
            .text_centered(PAGE_WIDTH / 2.0, baseline, BODY_SIZE, text, Weight::Bold);
        self.top = bottom;
    }

    /// A row of label/value pairs sharing the width; values shrink to fit, the row grows if
    /// even the smallest size needs more lines.
    fn pairs(&mut self, pairs: &[(&str, &str)]) {
        let pair_width = CONTENT_WIDTH / pairs.len() as f32;
        let value_width = pair_width - LABEL_WIDTH;
        let inner = |width: f32| width - 2.0 * CELL_PADDING;
        let typeface = self.canvas.typeface;
        let blocks: Vec<(TextBlock, TextBlock)> = pairs
            .iter()
            .map(|(label, value)| {
                (
                    TextBlock::wrapped(typeface, label, BODY_SIZE, inner(LABEL_WIDTH)),
                    TextBlock::fitted(
                        typeface,
                        value,
                        BODY_SIZE,
                        inner(value_width),
                        VALUE_MAX_LINES,
                    ),
                )
            })
            .collect();
        let content = blocks
            .iter()
            .flat_map(|(label, value)| [label.height(), value.height()])
            .fold(0.0, f32::max);
        let height = (content + 2.0 * CELL_PADDING).max(MIN_ROW_HEIGHT);
        let bottom = self.top - height;
        self.canvas
            .rect(CONTENT_LEFT, bottom, CONTENT_WIDTH, height);
        for (index, (label, value)) in blocks.iter().enumerate() {
            let left = CONTENT_LEFT + index as f32 * pair_width;
            if index > 0 {
                self.canvas.line((left, bottom), (left, self.top));
            }
            let divider = left + LABEL_WIDTH;
            self.canvas.line((divider, bottom), (divider, self.top));
            self.canvas
                .block_in_cell(left, LABEL_WIDTH, self.top, bottom, label, Align::Center);
            self.canvas
                .block_in_cell(divider, value_width, self.top, bottom, value, Align::Left);
        }
        self.top = bottom;
    }

    /// A row of one sentence across the table; returns the baseline and size it was set at.
    fn sentence(&mut self, text: &str) -> (f32, f32) {
        let block = TextBlock::fitted(
            self.canvas.typeface,
            text,
            BODY_SIZE,
            CONTENT_WIDTH - 2.0 * CELL_PADDING,
            1,
        );
        let height = (block.height() + 2.0 * CELL_PADDING).max(MIN_ROW_HEIGHT);
        let bottom = self.top - height;
        self.canvas
            .rect(CONTENT_LEFT, bottom, CONTENT_WIDTH, height);
        self.canvas.block_in_cell(
            CONTENT_LEFT,
            CONTENT_WIDTH,
            self.top,
            bottom,
            &block,
            Align::Left,
        );
        self.top = bottom;
        let block_top = bottom + (height + block.height()) / 2.0;
        let size = block.size;
        (baseline_in_line(block_top, leading(size), size), size)
    }

    /// 印章采集区: two empty boxes to stamp the official seal into, each with the filing-number
    /// note under it.
    fn seal_area(&mut self, seal_wanted: bool) {
        let header_height = MIN_ROW_HEIGHT;
        let note_height = leading(NOTE_SIZE) + CELL_PADDING;
        let height = header_height + SEAL_BOX + note_height + CELL_PADDING;
        let bottom = self.top - height;
        self.canvas
            .rect(CONTENT_LEFT, bottom, CONTENT_WIDTH, height);

        let baseline = baseline_centred_on(self.top - header_height / 2.0, BODY_SIZE);
        let label = "印章采集区";
        let x = CONTENT_LEFT + CELL_PADDING;
        self.canvas
            .text(x, baseline, BODY_SIZE, label, Weight::Bold);
        let note_x = x + self.canvas.text_width(label, BODY_SIZE) + CELL_PADDING / 2.0;
        self.canvas
            .text(note_x, baseline, NOTE_SIZE, SEAL_AREA_NOTE, Weight::Regular);
        let (yes, no) = if seal_wanted {
            (CHECKED, UNCHECKED)
        } else {
            (UNCHECKED, CHECKED)
        };
        let choice = format!("申请电子印章：{yes}是 {no}否");
        self.canvas
            .text_right(CONTENT_RIGHT - CELL_PADDING, baseline, NOTE_SIZE, &choice);

        let box_top = self.top - header_height;
        let half = CONTENT_WIDTH / 2.0;
        for index in 0..2 {
            let center = CONTENT_LEFT + half * (index as f32 + 0.5);
            self.canvas.rect(
                center - SEAL_BOX / 2.0,
                box_top - SEAL_BOX,
                SEAL_BOX,
                SEAL_BOX,
            );
            let note_baseline = box_top - SEAL_BOX - CELL_PADDING - ASCENT * NOTE_SIZE;
            self.canvas.text_centered(
                center,
                note_baseline,
                NOTE_SIZE,
                FILING_NUMBER_NOTE,
                Weight::Regular,
            );
        }
        self.top = bottom;
    }

    /// 业务办理: a label cell and the services to tick, new applications ticked.
    fn services(&mut self) {
        let lines = [
            format!(
                "{CHECKED}新申请云南省公共就业网上服务办事大厅：就业失业登记{CHECKED}、失业保险{CHECKED}。"
            ),
            format!(
                "{CHECKED}新申请昆明智慧就业平台：小微企业创业担保贷款、技能培训和创业培训服务、招商引资和非国企业吸纳就业补贴、公益性岗位补贴、小微企业吸纳高校毕业生补贴、企业吸纳就业困难人员补贴、公共招聘服务。"
            ),
            format!(
                "{UNCHECKED}证书年审续期 {UNCHECKED}补办（key 损坏或丢失） {UNCHECKED}解锁 {UNCHECKED}注销 {UNCHECKED}单位信息变更"
            ),
        ];
        let value_width = CONTENT_WIDTH - LABEL_WIDTH - 2.0 * CELL_PADDING;
        let blocks: Vec<TextBlock> = lines
            .iter()
            .map(|line| TextBlock::wrapped(self.canvas.typeface, line, NOTE_SIZE, value_width))
            .collect();
        let content: f32 = blocks.iter().map(TextBlock::height).sum();
        let height = content + 2.0 * CELL_PADDING;
        let bottom = self.top - height;
        self.canvas
            .rect(CONTENT_LEFT, bottom, CONTENT_WIDTH, height);
        let divider = CONTENT_LEFT + LABEL_WIDTH;
        self.canvas.line((divider, bottom), (divider, self.top));
        let label = TextBlock::wrapped(
            self.canvas.typeface,
            "业务办理（用人单位勾选）",
            BODY_SIZE,
            LABEL_WIDTH - 2.0 * CELL_PADDING,
        );
        self.canvas.block_in_cell(
            CONTENT_LEFT,
            LABEL_WIDTH,
            self.top,
            bottom,
            &label,
            Align::Center,
        );
        let mut top = self.top - CELL_PADDING;
        for block in &blocks {
            self.canvas
                .block(divider + CELL_PADDING, value_width, top, block, Align::Left);
            top -= block.height();
        }
        self.top = bottom;
    }

    /// The bottom row: the applicant's stamp and date on the left, the CA's part on the right.
    fn signatures(&mut self, generated_on: NaiveDate) {
        let height = SIGNATURE_ROW_HEIGHT;
        let bottom = self.top - height;
        let middle = CONTENT_LEFT + CONTENT_WIDTH / 2.0;
        self.canvas
            .rect(CONTENT_LEFT, bottom, CONTENT_WIDTH, height);
        self.canvas.line((middle, bottom), (middle, self.top));

        let first = self.top - SIGNATURE_INSET - ASCENT * BODY_SIZE;
        let last = bottom + SIGNATURE_INSET + (1.0 - ASCENT) * BODY_SIZE;
        let left = CONTENT_LEFT + SIGNATURE_INSET;
        self.canvas
            .text(left, first, BODY_SIZE, "申请单位（盖章）", Weight::Bold);
        let date = format!("申请日期：{}", chinese_date(generated_on));
        self.canvas
            .text_right(middle - SIGNATURE_INSET, last, BODY_SIZE, &date);

        let x = middle + SIGNATURE_INSET;
        self.canvas
            .text(x, first, BODY_SIZE, "由云南 CA 填写", Weight::Bold);
        self.canvas.text_right(
            CONTENT_RIGHT - SIGNATURE_INSET,
            first,
            NOTE_SIZE,
            "备注: 第壹个证书免费",
        );
        let step = leading(NOTE_SIZE);
        let mut baseline = first - step - GROUP_GAP;
        for check in CA_CHECKS {
            self.canvas
                .text(x, baseline, NOTE_SIZE, check, Weight::Regular);
            baseline -= step;
        }
        baseline -= GROUP_GAP;
        for role in ["证书录入员：", "证书发证员："] {
            self.canvas
                .text(x, baseline, NOTE_SIZE, role, Weight::Regular);
            let blank_x = x + self.canvas.text_width(role, NOTE_SIZE);
            self.canvas.blank(blank_x, baseline, BLANK_LENGTH);
            baseline -= step + GROUP_GAP;
        }
        self.canvas
            .text(x, baseline, NOTE_SIZE, "业务受理盖章", Weight::Regular);
        self.canvas.text_right(
            CONTENT_RIGHT - SIGNATURE_INSET,
            last,
            BODY_SIZE,
            "年\u{3000}\u{3000}月\u{3000}\u{3000}日",
        );
        self.top = bottom;
    }
}

fn form_page<'t>(fields: &FormFields, typeface: &'t Typeface) -> Result<Canvas<'t>, FormPdfError> {
    let mut canvas = Canvas::new(typeface);
    let title_top = PAGE_HEIGHT - MARGIN_TOP;
    canvas.text_centered(
        PAGE_WIDTH / 2.0,
        title_top - ASCENT * TITLE_SIZE,
        TITLE_SIZE,
        FORM_TITLE,
        Weight::Bold,
    );
    let mut top = title_top - TITLE_SIZE - TITLE_GAP;
    top = canvas.paragraph(CONTENT_LEFT, top, CONTENT_WIDTH, NOTE_SIZE, INSTRUCTIONS) - BLOCK_GAP;

    canvas.set_line_width(TABLE_LINE_WIDTH);
    let mut table = Table {
        canvas: &mut canvas,
        top,
    };
    let address = format!("{}（行政区划代码 {}）", fields.address, fields.region_code);
    table.heading("单位信息");
    table.pairs(&[("单位名称", &fields.unit_name)]);
    table.pairs(&[("单位住所（地址）", &address)]);
    table.pairs(&[("统一社会信用代码或纳税人识别号", &fields.uscc)]);
    table.pairs(&[
        (
            "单位联系电话",
            fields.contact_phone.as_deref().unwrap_or(""),
        ),
        ("经办人手机号码", &fields.agent_phone),
    ]);
    table.pairs(&[
        ("法定代表人姓名", &fields.legal_representative_name),
        (
            "营业执照或法人证书登记机关",
            fields.registration_authority.as_deref().unwrap_or(""),
        ),
    ]);
    table.pairs(&[("法定代表人身份证号码", &fields.legal_representative_id)]);
    let prefix = "本单位授权 ";
    let (baseline, size) = table.sentence(&authorisation_sentence(&fields.agent_name));
    // Underline the name as the blank it fills.
    let overhang = size / 5.0;
    let name_x = CONTENT_LEFT + CELL_PADDING + typeface.text_width(prefix, size) - overhang;
    let name_width = typeface.text_width(&fields.agent_name, size) + 2.0 * overhang;
    table.canvas.blank(name_x, baseline, name_width);
    table.pairs(&[("被授权人身份证号码", &fields.agent_id)]);
    table.seal_area(fields.seal_wanted);
    table.services();
    table.signatures(fields.generated_on);
    let top = table.top - BLOCK_GAP;

    let bottom = canvas.paragraph(
        CONTENT_LEFT,
        top,
        CONTENT_WIDTH,
        NOTE_SIZE,
        READ_AGREEMENT_NOTE,
    );
    let floor = FOOTER_BASELINE + leading(FOOTER_SIZE);
    if bottom < floor {
        return Err(FormPdfError::PageOverflow {
            excess_points: (floor - bottom).ceil() as u32,
        });
    }
    Ok(canvas)
}

/// The sentence authorising the agent, as printed (the agent's name in the form's blank).
fn authorisation_sentence(agent_name: &str) -> String {
    format!("本单位授权 {agent_name} 为数字证书业务经办人，办理证书申请或证书维护事宜。")
}

// ---------------------------------------------------------------------------------------------
// Page 2 on: the agreement.

fn agreement_pages<'t>(generated_on: NaiveDate, typeface: &'t Typeface) -> Vec<Canvas<'t>> {
    let top_of_page = PAGE_HEIGHT - MARGIN_TOP;
    let floor = MARGIN_BOTTOM;
    let mut pages = vec![Canvas::new(typeface)];
    let mut top = top_of_page;
    // Starts a new page when fewer than `needed` points are left on this one.
    let ensure_room = |pages: &mut Vec<Canvas<'t>>, top: &mut f32, needed: f32| {
        if *top - needed < floor {
            pages.push(Canvas::new(typeface));
            *top = top_of_page;
        }
    };

    if let Some(canvas) = pages.last_mut() {
        canvas.text_centered(
            PAGE_WIDTH / 2.0,
            top - ASCENT * AGREEMENT_TITLE_SIZE,
            AGREEMENT_TITLE_SIZE,
            AGREEMENT_TITLE,
            Weight::Bold,
        );
    }
    top -= AGREEMENT_TITLE_SIZE + TITLE_GAP;

    let line_height = AGREEMENT_LEADING;
    for paragraph in agreement::paragraphs() {
        let heading = agreement::is_article_heading(paragraph);
        if heading {
            top -= HEADING_GAP;
        }
        let block = TextBlock::wrapped(typeface, paragraph, AGREEMENT_SIZE, CONTENT_WIDTH);
        for line in &block.lines {
            // A heading keeps its first line of text with it.
            let needed = if heading { 2.0 } else { 1.0 } * line_height;
            ensure_room(&mut pages, &mut top, needed);
            let baseline = baseline_in_line(top, line_height, AGREEMENT_SIZE);
            let weight = if heading {
                Weight::Bold
            } else {
                Weight::Regular
            };
            if let Some(canvas) = pages.last_mut() {
                canvas.text(CONTENT_LEFT, baseline, AGREEMENT_SIZE, line, weight);
            }
            top -= line_height;
        }
        top -= PARAGRAPH_GAP;
    }

    // The applicant stamps the agreement too, over the line that says so.
    ensure_room(&mut pages, &mut top, AGREEMENT_STAMP_ROOM);
    let baseline = top - AGREEMENT_STAMP_ROOM + (1.0 - ASCENT) * BODY_SIZE;
    if let Some(canvas) = pages.last_mut() {
        let stamp = "申请单位（盖章）";
        canvas.text(PAGE_WIDTH / 2.0, baseline, BODY_SIZE, stamp, Weight::Bold);
        let date = chinese_date(generated_on);
        canvas.text_right(CONTENT_RIGHT - SIGNATURE_INSET, baseline, BODY_SIZE, &date);
    }
    pages
}

// ---------------------------------------------------------------------------------------------
// The document.

/// A text string of the document information dictionary: UTF-16BE with a byte order mark.
fn info_string(text: &str) -> Object {
    let mut bytes = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        bytes.extend(unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// A ToUnicode CMap over two-byte codes with `entries` (`<code> <code> <unicode>` lines for
/// `kind` `bfrange`, `<code> <unicode>` for `bfchar`).
fn unicode_cmap(kind: &str, entries: &[String]) -> Vec<u8> {
    /// At most 100 entries per block (PDF 32000-1, 9.10.3).
    const BLOCK: usize = 100;
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in entries.chunks(BLOCK) {
        cmap.push_str(&format!("{} begin{kind}\n", chunk.len()));
        for entry in chunk {
            cmap.push_str(entry);
            cmap.push('\n');
        }
        cmap.push_str(&format!("end{kind}\n"));
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap.into_bytes()
}

/// STSong-Light's ToUnicode CMap: a code is the character's own UTF-16 code unit (surrogates
/// excepted, which STSong-Light's text never holds), so every range maps onto itself.
fn to_unicode_cmap() -> Vec<u8> {
    let ranges: Vec<String> = (0x00u8..=0xFF)
        .filter(|high| !(0xD8..=0xDF).contains(high))
        .map(|high| format!("<{high:02X}00> <{high:02X}FF> <{high:02X}00>"))
        .collect();
    unicode_cmap("bfrange", &ranges)
}

/// A fallback subset's ToUnicode CMap: CID `n` is the `n`-th character, as UTF-16BE (a
/// surrogate pair for the supplementary planes, where Extension B and beyond live).
fn fallback_to_unicode_cmap(subset: &Subset) -> Vec<u8> {
    let entries: Vec<String> = subset
        .glyphs
        .iter()
        .enumerate()
        .map(|(index, glyph)| {
            let mut units = [0u16; 2];
            let unicode: String = glyph
                .character
                .encode_utf16(&mut units)
                .iter()
                .map(|unit| format!("{unit:04X}"))
                .collect();
            format!("<{:04X}> <{unicode}>", index + 1)
        })
        .collect();
    unicode_cmap("bfchar", &entries)
}

/// The six capital letters that tag an embedded subset's name (PDF 32000-1, 9.6.4): any
/// function of the glyph set will do as long as different sets get different tags, so an
/// FNV-1a hash of the characters, which keeps the document deterministic.
fn subset_tag(subset: &Subset) -> String {
    const OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01B3;
    let mut hash = subset
        .glyphs
        .iter()
        .flat_map(|glyph| u32::from(glyph.character).to_be_bytes())
        .fold(OFFSET, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        });
    let mut tag = String::with_capacity(6);
    for _ in 0..6 {
        // `hash % 26` is below 26, so the letter is a capital.
        tag.push(char::from(b'A' + (hash % 26) as u8));
        hash /= 26;
    }
    tag
}

/// A fallback subset as a Type0 font over a `CIDFontType2` descendant with the subset file
/// embedded; returns the id of the font dictionary.
fn add_fallback_font(document: &mut Document, subset: &Subset) -> ObjectId {
    let name = format!("{}+{}", subset_tag(subset), subset.postscript_name);
    let length = i64::try_from(subset.file.len()).unwrap_or(i64::MAX);
    let file = document.add_object(Stream::new(
        dictionary! { "Length1" => length },
        subset.file.clone(),
    ));
    // Flags 4: symbolic (the glyphs are addressed by CID, not by a standard Latin encoding).
    let descriptor = document.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => name.as_str(),
        "Flags" => 4,
        "FontBBox" => subset.bbox.iter().map(|&v| Object::Integer(v)).collect::<Vec<_>>(),
        "ItalicAngle" => 0,
        "Ascent" => subset.ascent,
        "Descent" => subset.descent,
        "CapHeight" => subset.cap_height,
        "StemV" => FALLBACK_STEM_V,
        "FontFile2" => file,
    });
    // CID 0 is .notdef; CID n draws the subset's glyph of the n-th character.
    let gids: Vec<u8> = std::iter::once(0u16)
        .chain(subset.glyphs.iter().map(|glyph| glyph.glyph))
        .flat_map(u16::to_be_bytes)
        .collect();
    let cid_to_gid = document.add_object(Stream::new(Dictionary::new(), gids));
    let widths: Vec<Object> = subset
        .glyphs
        .iter()
        .map(|glyph| i64::from(glyph.advance).into())
        .collect();
    let descendant = document.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => name.as_str(),
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Identity"),
            "Supplement" => 0,
        },
        "FontDescriptor" => descriptor,
        "DW" => i64::from(FULL_WIDTH),
        "W" => vec![1.into(), Object::Array(widths)],
        "CIDToGIDMap" => cid_to_gid,
    });
    let to_unicode = document.add_object(Stream::new(
        Dictionary::new(),
        fallback_to_unicode_cmap(subset),
    ));
    document.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => name.as_str(),
        "Encoding" => FALLBACK_ENCODING,
        "DescendantFonts" => vec![descendant.into()],
        "ToUnicode" => to_unicode,
    })
}

/// STSong-Light as a Type0 font; returns the id of the font dictionary.
fn add_font(document: &mut Document) -> ObjectId {
    // Acrobat's metrics of its STSong-Light (as R's pdf() device also writes them). Flags 6:
    // serif, symbolic (the glyph set is not the standard Latin one).
    let descriptor = document.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => FONT_NAME,
        "Flags" => 6,
        "FontBBox" => vec![(-134).into(), (-254).into(), 1001.into(), 905.into()],
        "ItalicAngle" => 0,
        "Ascent" => 905,
        "Descent" => -254,
        "CapHeight" => 626,
        "XHeight" => 416,
        "StemV" => 48,
    });
    let (first_half, last_half) = HALF_WIDTH_CIDS;
    let descendant = document.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType0",
        "BaseFont" => FONT_NAME,
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("GB1"),
            "Supplement" => FONT_SUPPLEMENT,
        },
        "FontDescriptor" => descriptor,
        "DW" => i64::from(FULL_WIDTH),
        "W" => vec![first_half.into(), last_half.into(), i64::from(HALF_WIDTH).into()],
    });
    let to_unicode = document.add_object(Stream::new(Dictionary::new(), to_unicode_cmap()));
    document.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => format!("{FONT_NAME}-{FONT_ENCODING}"),
        "Encoding" => FONT_ENCODING,
        "DescendantFonts" => vec![descendant.into()],
        "ToUnicode" => to_unicode,
    })
}

fn write_document(pages: &[Canvas], typeface: &Typeface) -> Result<Vec<u8>, FormPdfError> {
    let mut document = Document::with_version("1.7");
    let pages_id = document.new_object_id();
    let font = add_font(&mut document);
    let mut fonts = dictionary! { FONT_RESOURCE => font };
    for (index, subset) in typeface.subsets.iter().enumerate() {
        let font = add_fallback_font(&mut document, subset);
        if let Object::Name(name) = FontChoice::Fallback(index).resource() {
            fonts.set(name, font);
        }
    }
    let resources = document.add_object(dictionary! { "Font" => fonts });
    let mut kids = Vec::with_capacity(pages.len());
    for page in pages {
        let content = Content {
            operations: page.operations.clone(),
        };
        let contents = document.add_object(Stream::new(Dictionary::new(), content.encode()?));
        let page_id = document.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => contents,
        });
        kids.push(page_id.into());
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    document.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), coordinate(PAGE_WIDTH), coordinate(PAGE_HEIGHT)],
        }),
    );
    let catalog = document.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    let info = document.add_object(dictionary! {
        "Title" => info_string(FORM_TITLE),
        "Producer" => Object::string_literal("mcert"),
    });
    document.trailer.set("Root", catalog);
    document.trailer.set("Info", info);
    document.compress();
    let mut bytes = Vec::new();
    document.save_to(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::{process::Command, sync::LazyLock};

    use proptest::prelude::*;

    use super::*;
    use crate::{
        applications::{AgentInfo, AgentInput, EnterpriseInfo, EnterpriseInput, form_fonts},
        domain::PhoneNumber,
    };

    /// The default fallback fonts (`fonts-hanazono`), read once for all tests.
    static FONTS: LazyLock<FormFonts> = LazyLock::new(form_fonts::default_fonts);

    fn render_standard(fields: &FormFields) -> Result<Vec<u8>, FormPdfError> {
        render(fields, &FormFonts::standard_only())
    }

    /// Fields with rare characters: Extension B (𠀀 is HanaMinA's, 𡘙 HanaMinB's), Extension C,
    /// a middle dot and an accented Latin letter, none of which STSong-Light has.
    fn rare_fields() -> FormFields {
        FormFields {
            unit_name: "𠀀\u{2A700}测试科技有限公司".into(),
            address: "云南省昆明市西山区 Núñez 路 1 号".into(),
            legal_representative_name: "买买提·艾力".into(),
            agent_name: "王𡘙".into(),
            ..fields()
        }
    }

    /// The fonts of a page's resources, by resource name.
    fn page_fonts(document: &Document) -> BTreeMap<Vec<u8>, Dictionary> {
        let first = *document.get_pages().values().next().unwrap();
        document
            .get_page_fonts(first)
            .unwrap()
            .into_iter()
            .map(|(name, font)| (name, font.clone()))
            .collect()
    }

    fn fields() -> FormFields {
        FormFields {
            application_id: 4217,
            unit_name: "昆明测试科技有限公司".into(),
            address: "云南省昆明市西山区某某路 1 号".into(),
            region_code: "530112".into(),
            uscc: "91440300708461136T".into(),
            contact_phone: Some("0871-12345678".into()),
            agent_phone: "13800138000".into(),
            legal_representative_name: "李四".into(),
            registration_authority: Some("昆明市西山区市场监督管理局".into()),
            legal_representative_id: "11010519491231002X".into(),
            agent_name: "张三".into(),
            agent_id: "530102199001011234".into(),
            seal_wanted: true,
            generated_on: NaiveDate::from_ymd_opt(2025, 6, 3).unwrap(),
        }
    }

    /// The text poppler extracts from `pdf`, page by page in reading order.
    fn pdftotext(pdf: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("form.pdf");
        std::fs::write(&path, pdf).unwrap();
        let output = match Command::new("pdftotext").arg(&path).arg("-").output() {
            Ok(output) => output,
            Err(error) => panic!(
                "cannot run pdftotext ({error}): this test needs poppler; \
                 install it with `apt-get install -y poppler-utils poppler-data`"
            ),
        };
        assert!(
            output.status.success(),
            "pdftotext failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn the_font_is_stsong_light_as_a_type0_cid_font() {
        // Fallback fonts configured, but a form without rare characters embeds nothing.
        let pdf = render(&fields(), &FONTS).unwrap();
        assert_eq!(pdf, render_standard(&fields()).unwrap());
        let document = Document::load_mem(&pdf).unwrap();
        let pages = document.get_pages();
        assert!(pages.len() >= 2, "{} pages", pages.len());
        for page in pages.values() {
            let fonts = document.get_page_fonts(*page).unwrap();
            let font = fonts.get(FONT_RESOURCE.as_bytes()).unwrap();
            assert_eq!(font.get(b"Subtype").unwrap().as_name().unwrap(), b"Type0");
            assert_eq!(
                font.get(b"BaseFont").unwrap().as_name().unwrap(),
                b"STSong-Light-UniGB-UCS2-H"
            );
            assert_eq!(
                font.get(b"Encoding").unwrap().as_name().unwrap(),
                b"UniGB-UCS2-H"
            );
            let to_unicode = font.get(b"ToUnicode").unwrap().as_reference().unwrap();
            assert!(document.get_object(to_unicode).unwrap().as_stream().is_ok());

            let descendants = font.get(b"DescendantFonts").unwrap().as_array().unwrap();
            let descendant = document
                .get_dictionary(descendants[0].as_reference().unwrap())
                .unwrap();
            assert_eq!(
                descendant.get(b"Subtype").unwrap().as_name().unwrap(),
                b"CIDFontType0"
            );
            assert_eq!(
                descendant.get(b"BaseFont").unwrap().as_name().unwrap(),
                b"STSong-Light"
            );
            let system = descendant.get(b"CIDSystemInfo").unwrap().as_dict().unwrap();
            assert_eq!(system.get(b"Registry").unwrap().as_str().unwrap(), b"Adobe");
            assert_eq!(system.get(b"Ordering").unwrap().as_str().unwrap(), b"GB1");
            assert_eq!(system.get(b"Supplement").unwrap().as_i64().unwrap(), 4);
            let widths = descendant.get(b"W").unwrap().as_array().unwrap();
            let widths: Vec<i64> = widths.iter().map(|w| w.as_i64().unwrap()).collect();
            assert_eq!(widths, [1, 95, i64::from(HALF_WIDTH)]);
            assert_eq!(descendant.get(b"DW").unwrap().as_i64().unwrap(), 1000);
            let descriptor = descendant
                .get(b"FontDescriptor")
                .unwrap()
                .as_reference()
                .unwrap();
            let descriptor = document.get_dictionary(descriptor).unwrap();
            assert!(!descriptor.has(b"FontFile") && !descriptor.has(b"FontFile2"));
            assert!(!descriptor.has(b"FontFile3"), "no font is embedded");
            assert_eq!(fonts.len(), 1, "STSong-Light alone");
        }
    }

    #[test]
    fn rare_characters_are_drawn_with_embedded_subsets_of_the_fallback_fonts() {
        let pdf = render(&rare_fields(), &FONTS).unwrap();
        let document = Document::load_mem(&pdf).unwrap();
        let fonts = page_fonts(&document);
        let names: Vec<&[u8]> = fonts.keys().map(Vec::as_slice).collect();
        assert_eq!(
            names,
            [b"F1", b"F2", b"F3"],
            "STSong-Light, HanaMinA, HanaMinB"
        );
        for (resource, postscript, characters) in [
            (b"F2", "HanaMinA", 4), // 𠀀 𡘙 · ñ (HanaMinA has these of Extension B)
            (b"F3", "HanaMinB", 1), // U+2A700, Extension C
        ] {
            let font = &fonts[resource.as_slice()];
            assert_eq!(font.get(b"Subtype").unwrap().as_name().unwrap(), b"Type0");
            assert_eq!(
                font.get(b"Encoding").unwrap().as_name().unwrap(),
                b"Identity-H"
            );
            let base = font.get(b"BaseFont").unwrap().as_name().unwrap();
            let base = std::str::from_utf8(base).unwrap();
            let (tag, name) = base.split_once('+').unwrap();
            assert_eq!(name, postscript);
            assert!(
                tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()),
                "{base}"
            );
            let descendants = font.get(b"DescendantFonts").unwrap().as_array().unwrap();
            let descendant = document
                .get_dictionary(descendants[0].as_reference().unwrap())
                .unwrap();
            assert_eq!(
                descendant.get(b"Subtype").unwrap().as_name().unwrap(),
                b"CIDFontType2"
            );
            let widths = descendant.get(b"W").unwrap().as_array().unwrap();
            assert_eq!(widths[0].as_i64().unwrap(), 1);
            assert_eq!(widths[1].as_array().unwrap().len(), characters);
            let map = descendant
                .get(b"CIDToGIDMap")
                .unwrap()
                .as_reference()
                .unwrap();
            let map = document.get_object(map).unwrap().as_stream().unwrap();
            let map = map
                .decompressed_content()
                .unwrap_or_else(|_| map.content.clone());
            assert_eq!(
                map.len(),
                2 * (characters + 1),
                "CID 0 and one per character"
            );
            let descriptor = descendant
                .get(b"FontDescriptor")
                .unwrap()
                .as_reference()
                .unwrap();
            let descriptor = document.get_dictionary(descriptor).unwrap();
            let file = descriptor
                .get(b"FontFile2")
                .unwrap()
                .as_reference()
                .unwrap();
            let file = document.get_object(file).unwrap().as_stream().unwrap();
            let bytes = file.decompressed_content().unwrap();
            assert_eq!(
                file.dict.get(b"Length1").unwrap().as_i64().unwrap(),
                i64::try_from(bytes.len()).unwrap()
            );
            let subset = ttf_parser::Face::parse(&bytes, 0).unwrap();
            assert_eq!(
                usize::from(subset.number_of_glyphs()),
                characters + 1,
                "a subset: .notdef and the document's glyphs"
            );
        }
        assert!(pdf.len() < 150_000, "{} bytes", pdf.len());
    }

    #[test]
    fn rare_characters_extract_as_themselves() {
        let text = pdftotext(&render(&rare_fields(), &FONTS).unwrap());
        for expected in [
            "𠀀\u{2A700}测试科技有限公司",
            "Núñez",
            "买买提·艾力",
            "本单位授权 王𡘙 为数字证书业务经办人",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn the_forms_own_text_is_all_in_stsong_light() {
        // A character STSong-Light lacks and no fallback draws would come out as the geta
        // mark 〓 (U+3013), which the form's own text never holds.
        let pdf = render_standard(&fields()).unwrap();
        let document = Document::load_mem(&pdf).unwrap();
        let mut strings = 0;
        for page in document.get_pages().values() {
            let content = document.get_and_decode_page_content(*page).unwrap();
            for operation in content.operations.iter().filter(|o| o.operator == "Tj") {
                let bytes = operation.operands[0].as_str().unwrap();
                assert!(
                    !bytes.chunks(2).any(|unit| unit == [0x30, 0x13]),
                    "{:?}",
                    String::from_utf16_lossy(
                        &bytes
                            .chunks(2)
                            .map(|u| u16::from_be_bytes([u[0], u[1]]))
                            .collect::<Vec<_>>()
                    )
                );
                strings += 1;
            }
        }
        assert!(strings > 100, "{strings} strings");
        for paragraph in agreement::paragraphs() {
            assert!(paragraph.chars().all(in_standard_font), "{paragraph}");
        }
    }

    #[test]
    fn the_extracted_text_holds_the_filled_values_and_the_agreement() {
        let fields = fields();
        let text = pdftotext(&render_standard(&fields).unwrap());
        for expected in [
            FORM_TITLE,
            "昆明测试科技有限公司",
            "91440300708461136T",
            "张三",
            "本单位授权 张三 为数字证书业务经办人，办理证书申请或证书维护事宜。",
            "申请日期：2025 年 6 月 3 日",
            "530102199001011234",
            "0871-12345678",
            "昆明市西山区市场监督管理局",
            "申请编号 4217",
            AGREEMENT_TITLE,
            "第一条 申请",
            "160 元/年",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn the_longest_values_the_wizard_accepts_still_fit_on_page_one() {
        let long = FormFields {
            unit_name: "滇".repeat(100),
            address: "云".repeat(200),
            registration_authority: Some("局".repeat(100)),
            legal_representative_name: "名".repeat(30),
            agent_name: "经".repeat(30),
            contact_phone: Some("0".repeat(20)),
            ..fields()
        };
        let pdf = render_standard(&long).unwrap();
        assert!(Document::load_mem(&pdf).is_ok());
        let rare = FormFields {
            unit_name: "𠀀".repeat(100),
            address: "\u{2A700}".repeat(200),
            legal_representative_name: "Ñ".repeat(30),
            agent_name: "𡘙".repeat(30),
            ..long
        };
        assert!(Document::load_mem(&render(&rare, &FONTS).unwrap()).is_ok());
    }

    #[test]
    fn characters_no_font_can_print_are_refused() {
        let emoji = FormFields {
            unit_name: "腾讯😀科技".into(),
            ..fields()
        };
        match render(&emoji, &FONTS) {
            Err(FormPdfError::Unprintable(DomainError::Unprintable {
                field,
                position,
                character,
            })) => assert_eq!(
                (field, position, character),
                (PrintedField::UnitName, 3, '😀')
            ),
            other => panic!("{other:?}"),
        }
        // Without a fallback font, a rare character is refused rather than printed wrong.
        let rare = FormFields {
            agent_name: "张𠀀".into(),
            ..fields()
        };
        match render_standard(&rare) {
            Err(FormPdfError::Unprintable(DomainError::Unprintable {
                field, character, ..
            })) => assert_eq!((field, character), (PrintedField::AgentName, '𠀀')),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(
            render_standard(&fields()).unwrap(),
            render_standard(&fields()).unwrap()
        );
        assert_eq!(
            render(&rare_fields(), &FONTS).unwrap(),
            render(&rare_fields(), &FONTS).unwrap()
        );
    }

    #[test]
    fn debug_masks_the_id_numbers() {
        let debug = format!("{:?}", fields());
        assert!(debug.contains("\"110105********002X\""), "{debug}");
        assert!(debug.contains("\"530102********1234\""), "{debug}");
        assert!(!debug.contains("11010519491231002X"));
        assert!(!debug.contains("530102199001011234"));
    }

    #[test]
    fn wrapping_respects_width_and_punctuation() {
        let text =
            "用户应当妥善保管云南 CA 签发的数字证书和保护密码（PIN 码），不得泄漏或交付他人。";
        let typeface = Typeface::standard();
        let text_width = |text: &str, size: f32| typeface.text_width(text, size);
        for width in [60.0, 85.0, 100.0, 150.0] {
            let lines = wrap(&typeface, text, 10.0, width);
            assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
            for line in &lines {
                assert!(
                    text_width(line, 10.0) <= width,
                    "{line:?} wider than {width}"
                );
                assert!(!starts_with_any(line, NO_LINE_START), "{line:?} at {width}");
                assert!(!ends_with_any(line, NO_LINE_END), "{line:?} at {width}");
            }
            assert!(lines.iter().any(|line| line.contains("PIN")), "{lines:?}");
        }
        // ASCII is half width, in the wrapping as in the font's /W array.
        assert_eq!(text_width("CA", 10.0), 10.0);
        assert_eq!(text_width("云南", 10.0), 20.0);
    }

    /// A character of the kinds people type: mostly Chinese characters of the common range,
    /// then rare ones of Extensions A to F and the compatibility blocks, Latin letters, the
    /// middle dot and ASCII, and now and then one that no font prints (emoji, private use) or
    /// anything at all.
    fn typed_character() -> impl Strategy<Value = char> {
        let range =
            |first: u32, last: u32| (first..=last).prop_filter_map("a scalar", char::from_u32);
        prop_oneof![
            30 => range(0x4E00, 0x9FA5),
            15 => range(0x20000, 0x2EBE0),
            3 => range(0x3400, 0x4DBF),
            2 => range(0x9FA6, 0x9FFF),
            2 => range(0xF900, 0xFAFF),
            2 => range(0x2F800, 0x2FA1F),
            6 => range(0x00C0, 0x024F),
            3 => range(0x1E00, 0x1EFF),
            3 => Just('·'),
            6 => range(0x20, 0x7E),
            1 => range(0x1F300, 0x1FAFF),
            1 => range(0xE000, 0xF8FF),
            1 => any::<char>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the steps accept, the form prints: no 500 for accepted input. Each case
        /// types one field of a valid application and renders the form if the step accepts it.
        #[test]
        fn every_value_the_steps_accept_renders(
            field in 0..5usize,
            characters in proptest::collection::vec(typed_character(), 1..=40),
        ) {
            let text: String = characters.into_iter().collect();
            let upload = "0123456789abcdef0123456789abcdef".to_string();
            let mut enterprise = EnterpriseInput {
                licence_upload_id: upload.clone(),
                name: "昆明测试科技有限公司".into(),
                uscc: "91440300708461136T".into(),
                region_code: "530112".into(),
                address: "云南省昆明市西山区某某路 1 号".into(),
                legal_representative_name: "李四".into(),
                legal_representative_id: "11010519491231002X".into(),
                registration_authority: None,
                contact_phone: Some("0871-12345678".into()),
            };
            let mut agent = AgentInput {
                id_front_upload_id: upload.clone(),
                id_back_upload_id: upload,
                name: "张三".into(),
                id_number: "11010519491231002X".into(),
                email: "zhang@example.com".into(),
            };
            match field {
                0 => enterprise.name = text,
                1 => enterprise.address = text,
                2 => enterprise.legal_representative_name = text,
                3 => enterprise.registration_authority = Some(text),
                _ => agent.name = text,
            }
            let phone = PhoneNumber::parse("13800138000").unwrap();
            let enterprise = EnterpriseInfo::parse(&enterprise, &*FONTS);
            let agent = AgentInfo::parse(&agent, &phone, &*FONTS);
            let (Ok(enterprise), Ok(agent)) = (enterprise, agent) else {
                return Err(TestCaseError::reject("a step refused the value"));
            };
            let form = FormFields {
                unit_name: enterprise.name,
                address: enterprise.address,
                legal_representative_name: enterprise.legal_representative_name,
                registration_authority: enterprise.registration_authority,
                agent_name: agent.name,
                ..fields()
            };
            let pdf = render(&form, &FONTS);
            prop_assert!(pdf.is_ok(), "{form:?}: {pdf:?}");
            prop_assert!(Document::load_mem(&pdf.unwrap()).is_ok());
        }
    }
}
