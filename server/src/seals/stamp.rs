//! 采集传统盖章: the employer's red stamp cut out of the stamped application form it uploaded.
//! Red ink is found in HSV (red hue, saturated, not dark: black text and white paper are
//! neither), its strokes joined by a morphological closing, and the seal-sized, near-square
//! connected component is taken: cropped, the paper made transparent and the ink one uniform
//! red, so the picture prints like the CA-generated seals.

use image::{GrayImage, Luma, Rgba, RgbaImage};
use imageproc::{
    distance_transform::Norm,
    morphology::close,
    region_labelling::{Connectivity, connected_components},
};

use super::drawing::SEAL_RED;
use crate::failure::{Describe, Description, code};

/// Why no stamp could be cut out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StampError {
    /// Not a PNG or JPEG that decodes.
    #[error("stamp image does not decode: {0}")]
    Image(String),
    /// No red component of a seal's size and shape.
    #[error("no red stamp found")]
    NotFound,
}

impl Describe for StampError {
    fn describe(&self) -> Description {
        match self {
            Self::Image(_) => Description::new(
                code::STAMP_NOT_FOUND,
                "申请表图片无法读取，请上传清晰的 PNG 或 JPG 图片",
            ),
            Self::NotFound => Description::new(
                code::STAMP_NOT_FOUND,
                "申请表图片中未找到红色的单位公章，请上传加盖公章、印迹清晰完整的申请表，或改为“CA生成印章”",
            ),
        }
    }
}

/// Whether a pixel is red ink: a red hue (within 20° of pure red), saturated and not dark.
fn is_ink(pixel: &Rgba<u8>) -> bool {
    let [r, g, b, a] = pixel.0;
    if a < 128 {
        return false;
    }
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let value = max / 255.0;
    let saturation = if max > 0.0 { (max - min) / max } else { 0.0 };
    if max != r || value < 0.35 || saturation < 0.35 {
        return false;
    }
    // Hue in degrees, r the largest: 60 · (g − b) / (max − min), in (−60, 60).
    let hue = 60.0 * (g - b) / (max - min);
    hue.abs() <= 20.0
}

/// A connected component of ink: its bounding box and pixel count.
#[derive(Debug, Clone, Copy)]
struct Component {
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
    pixels: u32,
}

impl Component {
    fn width(&self) -> u32 {
        self.right - self.left + 1
    }
    fn height(&self) -> u32 {
        self.bottom - self.top + 1
    }
}

/// The stamp cut out of `image` (PNG or JPEG bytes), as a transparent PNG of the stamp's
/// bounding box.
///
/// # Errors
///
/// [`StampError::Image`] if the bytes do not decode, [`StampError::NotFound`] if no red
/// component has a seal's size (at least a tenth of the page's shorter side) and shape (width
/// and height within 25% of each other).
pub fn extract(image: &[u8]) -> Result<Vec<u8>, StampError> {
    let page = image::load_from_memory(image)
        .map_err(|e| StampError::Image(e.to_string()))?
        .to_rgba8();
    let (width, height) = page.dimensions();
    let ink = GrayImage::from_fn(width, height, |x, y| {
        Luma([if is_ink(page.get_pixel(x, y)) { 255 } else { 0 }])
    });
    // Join a seal's strokes (its ring, characters and star) into one component; the gaps
    // between them are a few pixels at the resolutions forms are scanned at.
    let radius = u8::try_from((width.min(height) / 150).clamp(2, 12)).unwrap_or(12);
    let joined = close(&ink, Norm::LInf, radius);
    let labels = connected_components(&joined, Connectivity::Eight, Luma([0u8]));
    let mut components: std::collections::HashMap<u32, Component> = Default::default();
    for (x, y, label) in labels.enumerate_pixels() {
        let label = label.0[0];
        if label == 0 {
            continue;
        }
        let entry = components.entry(label).or_insert(Component {
            left: x,
            top: y,
            right: x,
            bottom: y,
            pixels: 0,
        });
        entry.left = entry.left.min(x);
        entry.top = entry.top.min(y);
        entry.right = entry.right.max(x);
        entry.bottom = entry.bottom.max(y);
        entry.pixels += 1;
    }
    let smallest = width.min(height) / 10;
    let stamp = components
        .into_values()
        .filter(|c| {
            let (w, h) = (c.width() as f32, c.height() as f32);
            c.width() >= smallest && c.height() >= smallest && (w / h - 1.0).abs() <= 0.25
        })
        .max_by_key(|c| c.pixels)
        .ok_or(StampError::NotFound)?;
    let (r, g, b) = SEAL_RED;
    let cut = RgbaImage::from_fn(stamp.width(), stamp.height(), |x, y| {
        let (px, py) = (stamp.left + x, stamp.top + y);
        if ink.get_pixel(px, py).0[0] != 0 {
            Rgba([r, g, b, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let mut png = Vec::new();
    cut.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| StampError::Image(e.to_string()))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use image::imageops;

    use super::*;
    use crate::seals::drawing::{RoundSeal, SealSize};

    fn decode(png: &[u8]) -> RgbaImage {
        image::load_from_memory(png).unwrap().to_rgba8()
    }

    fn png(image: &RgbaImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        image
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .unwrap();
        bytes
    }

    /// A scanned A4 form at 100 dpi: white paper, lines of black "text", and a 40 mm red stamp
    /// (158 px) pressed over text near the bottom right, in a slightly darker scanned red.
    fn stamped_form() -> RgbaImage {
        let mut page = RgbaImage::from_pixel(827, 1169, Rgba([250, 250, 248, 255]));
        for line in 0..40 {
            let y = 80 + line * 26;
            for x in 60..760 {
                for dy in 0..9 {
                    if (x / 11) % 3 != 2 {
                        page.put_pixel(x, y + dy, Rgba([25, 25, 25, 255]));
                    }
                }
            }
        }
        let font = std::fs::read(crate::seals::DEFAULT_SEAL_FONT).unwrap();
        let seal = RoundSeal::new("昆明示例科技有限公司", &font, SealSize::default()).unwrap();
        let mut stamp = decode(&seal.png(158).unwrap());
        for pixel in stamp.pixels_mut() {
            if pixel.0[3] > 0 {
                pixel.0[0] = 205;
                pixel.0[1] = 30;
                pixel.0[2] = 40;
            }
        }
        imageops::overlay(&mut page, &stamp, 560, 900);
        page
    }

    #[test]
    fn the_red_stamp_is_cut_out_of_a_form_with_black_text() {
        let page = stamped_form();
        let cut = extract(&png(&page)).unwrap();
        if let Ok(path) = std::env::var("MCERT_STAMP_PNG") {
            std::fs::write(path, &cut).unwrap();
        }
        let cut = decode(&cut);
        let (w, h) = cut.dimensions();
        assert!(
            (150..=160).contains(&w) && (150..=160).contains(&h),
            "{w}×{h}"
        );
        // The ink is uniform red; the paper and the black text under it are transparent.
        let (r, g, b) = SEAL_RED;
        let mut ink = 0;
        for pixel in cut.pixels() {
            match pixel.0 {
                [_, _, _, 0] => {}
                [pr, pg, pb, 255] => {
                    assert_eq!((pr, pg, pb), (r, g, b));
                    ink += 1;
                }
                other => panic!("not uniform: {other:?}"),
            }
        }
        assert!(ink > 3000 && ink < w * h / 2, "{ink} ink pixels");
        // The centre of the cut is the star; the corners (paper, text) are transparent.
        assert_eq!(cut.get_pixel(w / 2, h / 2).0[3], 255);
        assert_eq!(cut.get_pixel(1, 1).0[3], 0);
        assert_eq!(cut.get_pixel(w - 2, h - 2).0[3], 0);
    }

    #[test]
    fn a_form_without_a_red_stamp_is_refused() {
        let mut page = stamped_form();
        for pixel in page.pixels_mut() {
            if is_ink(pixel) {
                *pixel = Rgba([25, 25, 25, 255]);
            }
        }
        let error = extract(&png(&page)).unwrap_err();
        assert!(matches!(error, StampError::NotFound));
        assert_eq!(error.describe().code, code::STAMP_NOT_FOUND);
        // A thin red line (a pen mark) is not a seal either.
        for x in 100..600 {
            page.put_pixel(x, 50, Rgba([220, 20, 30, 255]));
        }
        assert!(matches!(extract(&png(&page)), Err(StampError::NotFound)));
        assert!(matches!(
            extract(b"not an image"),
            Err(StampError::Image(_))
        ));
    }
}
