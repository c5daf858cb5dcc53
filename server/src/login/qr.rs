//! QR images of a login session's text (`qrcode`): SVG for pages, PNG for portals that want an
//! image file.

use qrcode::{EcLevel, QrCode, render::svg};

/// Why a QR image could not be drawn (text too long for a QR code).
#[derive(Debug, thiserror::Error)]
#[error("QR code: {0}")]
pub struct QrError(String);

fn code(text: &str) -> Result<QrCode, QrError> {
    // Medium error correction: readable from a screen at an angle, still a small code.
    QrCode::with_error_correction_level(text, EcLevel::M).map_err(|e| QrError(e.to_string()))
}

/// An `<svg>` element, at least `size` pixels wide, black on white.
pub fn svg(text: &str, size: u32) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .build())
}

/// A PNG, at least `size` pixels wide.
pub fn png(text: &str, size: u32) -> Result<Vec<u8>, QrError> {
    let image = code(text)?
        .render::<image::Luma<u8>>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .build();
    let mut bytes = Vec::new();
    image::DynamicImage::ImageLuma8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| QrError(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn svg_and_png_are_drawn() {
        let text = "https://ca.example.cn/q/AAAAAAAAAAAAAAAAAAAAAA";
        let svg = svg(text, 240).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        let png = png(text, 240).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoded = image::load_from_memory(&png).unwrap();
        assert!(decoded.width() >= 240);
    }
}
