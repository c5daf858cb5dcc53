//! The fallback fonts of the printed application form: TrueType fonts that draw what
//! STSong-Light lacks, the rare Chinese characters (生僻字) of CJK Extension B and beyond, the
//! middle dot and accented letters of transliterated names. They are read once at start-up; a
//! form that uses them embeds a subset of just its glyphs ([`FallbackFont::subset`]).
//!
//! Which characters may come from here is the domain's rule ([`crate::domain::printable`]); this
//! module only answers whether a font has a glyph, through the same [`FallbackGlyphs`] that the
//! wizard's input check asks, so input and drawing cannot disagree.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, LazyLock, Mutex, PoisonError},
};

use serde::Deserialize;
use ttf_parser::{Face, GlyphId, Permissions};

use crate::domain::FallbackGlyphs;

/// The Debian package `fonts-hanazono`: HanaMinA has the BMP (CJK Unified Ideographs up to
/// Unicode 10, Extension A, the compatibility ideographs, Latin), HanaMinB Extensions B to F.
const DEFAULT_FALLBACK_FONTS: [&str; 2] = [
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
];

/// `[pdf]`: how the application form is printed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PdfSettings {
    /// TrueType fonts (glyf outlines) asked in this order for a character STSong-Light lacks
    /// (`fallback_fonts`, `MCERT_PDF__FALLBACK_FONTS='[/a.ttf, /b.ttf]'`). Defaults to
    /// `fonts-hanazono`'s HanaMinA and HanaMinB. Every listed font must load, or the server does
    /// not start; `[]` runs without, and input then refuses what STSong-Light cannot print.
    pub fallback_fonts: Vec<PathBuf>,
}

impl Default for PdfSettings {
    fn default() -> Self {
        Self {
            fallback_fonts: DEFAULT_FALLBACK_FONTS.iter().map(PathBuf::from).collect(),
        }
    }
}

/// Why a fallback font cannot be used. Every variant names the file and the way out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FontError {
    /// The file cannot be read (for the defaults: `fonts-hanazono` is not installed).
    #[error(
        "cannot read the application form's fallback font {}: install the Debian package \
         fonts-hanazono (the default fonts), or set [pdf] fallback_fonts \
         (MCERT_PDF__FALLBACK_FONTS) to TrueType fonts that have the rare characters of names, \
         or to [] to refuse those characters at input",
        path.display()
    )]
    Unreadable {
        /// The configured path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a font.
    #[error("the fallback font {} is not an OpenType/TrueType font", path.display())]
    Malformed {
        /// The configured path.
        path: PathBuf,
        /// What the parser found.
        #[source]
        source: ttf_parser::FaceParsingError,
    },
    /// The font has CFF outlines (as Noto CJK has); the form embeds TrueType ones.
    #[error(
        "the fallback font {} has no TrueType outlines (glyf table): the form embeds fallback \
         glyphs as a CIDFontType2 font, so configure a TrueType font such as HanaMinB",
        path.display()
    )]
    NotTrueType {
        /// The configured path.
        path: PathBuf,
    },
    /// The font has no Unicode character map, so no character can be looked up.
    #[error("the fallback font {} has no Unicode cmap table", path.display())]
    NoUnicodeCmap {
        /// The configured path.
        path: PathBuf,
    },
    /// The font's licence bits (OS/2 `fsType`) forbid embedding or subsetting it.
    #[error("the fallback font {} does not permit embedding a subset of it", path.display())]
    EmbeddingForbidden {
        /// The configured path.
        path: PathBuf,
    },
    /// The subsetter cannot read the font's tables.
    #[error("the fallback font {} cannot be subset: {reason}", path.display())]
    Unsubsettable {
        /// The configured path.
        path: PathBuf,
        /// The subsetter's words.
        reason: String,
    },
}

/// One fallback font, read and checked.
pub struct FallbackFont {
    path: PathBuf,
    data: Vec<u8>,
    /// The PostScript name (name ID 6), used in the PDF as the base font name.
    postscript_name: String,
}

impl std::fmt::Debug for FallbackFont {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FallbackFont")
            .field("path", &self.path)
            .field("bytes", &self.data.len())
            .field("postscript_name", &self.postscript_name)
            .finish()
    }
}

/// Fonts this process has read, by path. The files are tens of megabytes and do not change
/// while the process runs; a server reads them once, and the tests, which start a server per
/// test in one process, would otherwise read them again for every test.
static LOADED: LazyLock<Mutex<HashMap<PathBuf, Arc<FallbackFont>>>> = LazyLock::new(Mutex::default);

impl FallbackFont {
    /// Reads and checks the font at `path`, or returns the copy this process read before.
    fn load(path: &Path) -> Result<Arc<Self>, FontError> {
        let cached = LOADED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .cloned();
        if let Some(font) = cached {
            return Ok(font);
        }
        let font = Arc::new(Self::read(path)?);
        LOADED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_path_buf(), font.clone());
        Ok(font)
    }

    fn read(path: &Path) -> Result<Self, FontError> {
        let path_buf = || path.to_path_buf();
        let data = std::fs::read(path).map_err(|source| FontError::Unreadable {
            path: path_buf(),
            source,
        })?;
        let face = Face::parse(&data, 0).map_err(|source| FontError::Malformed {
            path: path_buf(),
            source,
        })?;
        if face.tables().glyf.is_none() {
            return Err(FontError::NotTrueType { path: path_buf() });
        }
        let unicode = face
            .tables()
            .cmap
            .is_some_and(|cmap| cmap.subtables.into_iter().any(|table| table.is_unicode()));
        if !unicode {
            return Err(FontError::NoUnicodeCmap { path: path_buf() });
        }
        if face.permissions() == Some(Permissions::Restricted) || !face.is_subsetting_allowed() {
            return Err(FontError::EmbeddingForbidden { path: path_buf() });
        }
        let postscript_name = face
            .names()
            .into_iter()
            .filter(|name| name.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .find_map(|name| name.to_string())
            .map(|name| postscript_safe(&name))
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "FallbackFont".to_owned());
        // A subset of nothing but .notdef walks every table the real subsets will need, so a
        // font the subsetter cannot handle fails here rather than in an applicant's download.
        subsetter::subset(&data, 0, &subsetter::GlyphRemapper::new()).map_err(|error| {
            FontError::Unsubsettable {
                path: path_buf(),
                reason: error.to_string(),
            }
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            data,
            postscript_name,
        })
    }

    /// The parsed font. Parsing only reads the table directory, so it is done per use rather
    /// than kept (a `Face` borrows the bytes it reads).
    fn face(&self) -> Option<Face<'_>> {
        Face::parse(&self.data, 0).ok()
    }

    /// The glyph drawing `character`, if the font has one with an outline: some fonts map
    /// characters to empty placeholder glyphs, which would print as nothing.
    fn glyph(face: &Face<'_>, character: char) -> Option<GlyphId> {
        face.glyph_index(character)
            .filter(|glyph| glyph.0 != 0 && face.glyph_bounding_box(*glyph).is_some())
    }

    /// The font cut down to the glyphs of `characters` (each of which it has, see
    /// [`FormFonts::font_for`]), with what the PDF needs to describe it.
    pub(super) fn subset(&self, characters: &[char]) -> Result<Subset, SubsetError> {
        let face = self.face().ok_or(SubsetError::Unreadable)?;
        let scale = 1000.0 / f32::from(face.units_per_em().max(1));
        let scaled = |value: i16| (f32::from(value) * scale).round() as i64;
        let mut remapper = subsetter::GlyphRemapper::new();
        let mut glyphs = Vec::with_capacity(characters.len());
        for &character in characters {
            let glyph = Self::glyph(&face, character).ok_or(SubsetError::MissingGlyph)?;
            let advance = face.glyph_hor_advance(glyph).unwrap_or(face.units_per_em());
            glyphs.push(SubsetGlyph {
                character,
                glyph: remapper.remap(glyph.0),
                advance: (f32::from(advance) * scale).round() as u16,
            });
        }
        let file = subsetter::subset(&self.data, 0, &remapper)
            .map_err(|error| SubsetError::Subsetter(error.to_string()))?;
        let bbox = face.global_bounding_box();
        let ascent = scaled(face.ascender());
        Ok(Subset {
            postscript_name: self.postscript_name.clone(),
            file,
            glyphs,
            ascent,
            descent: scaled(face.descender()),
            cap_height: face.capital_height().map_or(ascent, scaled),
            bbox: [
                scaled(bbox.x_min),
                scaled(bbox.y_min),
                scaled(bbox.x_max),
                scaled(bbox.y_max),
            ],
        })
    }
}

/// A PostScript name keeps to printable ASCII without delimiters (PDF names allow more, but
/// readers show this one).
fn postscript_safe(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic() && !"[](){}<>/%".contains(*c))
        .collect()
}

/// Why a subset could not be made. [`FormFonts::load`] checked the fonts and the form asks for
/// glyphs the font has, so this does not happen short of the font file changing under the
/// running server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubsetError {
    /// The font no longer parses.
    #[error("the fallback font no longer parses")]
    Unreadable,
    /// A character the font had no longer has a glyph.
    #[error("the fallback font lacks a glyph it had at start-up")]
    MissingGlyph,
    /// The subsetter failed.
    #[error("subsetting failed: {0}")]
    Subsetter(String),
    /// More characters than two-byte CIDs can number (the fields' length limits keep a form
    /// to a few hundred).
    #[error("more fallback characters than two-byte CIDs can number")]
    TooManyGlyphs,
}

/// The glyphs of one fallback font that a document uses, and the font cut down to them.
#[derive(Debug)]
pub(super) struct Subset {
    /// The font's PostScript name.
    pub(super) postscript_name: String,
    /// The subset font file (TrueType, without a cmap: the PDF maps codes to glyphs itself).
    pub(super) file: Vec<u8>,
    /// The characters asked for, in the order asked, with their glyphs in `file`.
    pub(super) glyphs: Vec<SubsetGlyph>,
    /// Ascender, descender and cap height, in thousandths of the font size.
    pub(super) ascent: i64,
    pub(super) descent: i64,
    pub(super) cap_height: i64,
    /// The font's bounding box, in thousandths of the font size.
    pub(super) bbox: [i64; 4],
}

/// One character of a [`Subset`].
#[derive(Debug, Clone, Copy)]
pub(super) struct SubsetGlyph {
    /// The character.
    pub(super) character: char,
    /// Its glyph id in the subset file.
    pub(super) glyph: u16,
    /// Its advance, in thousandths of the font size.
    pub(super) advance: u16,
}

/// The configured fallback fonts, in the order they are asked.
#[derive(Debug, Clone, Default)]
pub struct FormFonts {
    fallbacks: Vec<Arc<FallbackFont>>,
}

impl FormFonts {
    /// Reads and checks every configured fallback font.
    ///
    /// # Errors
    ///
    /// A [`FontError`] for the first font that cannot be used: a configured font is never
    /// skipped, since input would then refuse names the configuration promised to print.
    pub fn load(settings: &PdfSettings) -> Result<Self, FontError> {
        let fallbacks = settings
            .fallback_fonts
            .iter()
            .map(|path| FallbackFont::load(path))
            .collect::<Result<_, _>>()?;
        Ok(Self { fallbacks })
    }

    /// No fallback font: the form prints what STSong-Light has, and input takes only that.
    pub fn standard_only() -> Self {
        Self::default()
    }

    /// The fallback fonts, in order.
    pub(super) fn fallbacks(&self) -> &[Arc<FallbackFont>] {
        &self.fallbacks
    }

    /// The index of the first fallback font with a glyph for `character`.
    pub(super) fn font_for(&self, character: char) -> Option<usize> {
        self.fallbacks.iter().position(|font| {
            font.face()
                .is_some_and(|face| FallbackFont::glyph(&face, character).is_some())
        })
    }
}

impl FallbackGlyphs for FormFonts {
    fn has_glyph(&self, character: char) -> bool {
        self.font_for(character).is_some()
    }
}

/// The default fonts, for tests that draw rare characters (they need `fonts-hanazono`).
#[cfg(test)]
#[allow(clippy::panic)]
pub(super) fn default_fonts() -> FormFonts {
    FormFonts::load(&PdfSettings::default()).unwrap_or_else(|error| {
        panic!("{error}: install it with `apt-get install -y fonts-hanazono`")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn the_default_fonts_cover_cjk_extension_b_to_f_and_names() {
        let fonts = default_fonts();
        for character in [
            '𠀀',        // U+20000, the first of Extension B
            '𡘙',        // a 生僻字 of Extension B seen in names
            '𠮷',        // U+20BB7
            '\u{2A700}', // Extension C
            '\u{2B740}', // Extension D
            '\u{2B820}', // Extension E
            '\u{2CEB0}', // Extension F
            '\u{9FEA}',  // unified ideograph of Unicode 10, beyond GB 18030-2000
            '\u{2F800}', // compatibility ideograph supplement
            '·',
            'ñ',
            'ễ',
        ] {
            assert!(fonts.has_glyph(character), "U+{:04X}", u32::from(character));
        }
        assert_eq!(
            fonts.font_for('𠀀'),
            Some(0),
            "HanaMinA has some of Extension B"
        );
        assert_eq!(fonts.font_for('\u{2A700}'), Some(1));
        assert!(
            !fonts.has_glyph('\u{30000}'),
            "Extension G is beyond Hanazono"
        );
    }

    #[test]
    fn a_missing_configured_font_is_an_error_naming_it_and_the_way_out() {
        let settings = PdfSettings {
            fallback_fonts: vec!["/nonexistent/HanaMinB.ttf".into()],
        };
        let error = FormFonts::load(&settings).unwrap_err();
        assert!(matches!(error, FontError::Unreadable { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("/nonexistent/HanaMinB.ttf"), "{message}");
        assert!(message.contains("fonts-hanazono"), "{message}");
        assert!(message.contains("MCERT_PDF__FALLBACK_FONTS"), "{message}");
    }

    #[test]
    fn a_file_that_is_not_a_truetype_font_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-font.ttf");
        std::fs::write(&path, b"plain text, not a font").unwrap();
        let settings = PdfSettings {
            fallback_fonts: vec![path],
        };
        let error = FormFonts::load(&settings).unwrap_err();
        assert!(matches!(error, FontError::Malformed { .. }), "{error:?}");
    }

    #[test]
    fn no_fallback_font_means_no_glyphs() {
        let fonts = FormFonts::load(&PdfSettings {
            fallback_fonts: Vec::new(),
        })
        .unwrap();
        assert!(!fonts.has_glyph('𠀀'));
        assert!(!FormFonts::standard_only().has_glyph('·'));
    }

    #[test]
    fn a_subset_holds_only_the_glyphs_asked_for() {
        let fonts = default_fonts();
        let font = &fonts.fallbacks()[1];
        let subset = font.subset(&['\u{2A700}', '\u{2B740}']).unwrap();
        assert_eq!(subset.postscript_name, "HanaMinB");
        assert!(subset.file.len() < 20_000, "{} bytes", subset.file.len());
        let face = Face::parse(&subset.file, 0).unwrap();
        assert_eq!(face.number_of_glyphs(), 3, ".notdef and the two asked for");
        let glyphs: Vec<u16> = subset.glyphs.iter().map(|glyph| glyph.glyph).collect();
        assert_eq!(glyphs, [1, 2]);
        assert!(subset.glyphs.iter().all(|glyph| glyph.advance == 1000));
        assert_eq!(
            font.subset(&['\u{2A700}']).unwrap().file,
            font.subset(&['\u{2A700}']).unwrap().file,
            "deterministic"
        );
    }
}
