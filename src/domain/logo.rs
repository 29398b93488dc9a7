//! The collectivité's logo, at the head of its papers: a PNG or JPEG image,
//! checked when an admin gives it (its format, a size a paper's head can
//! hold, pixels that decode whole) and read back as pixels for the PDF
//! papers. Pure computation on bytes already in memory.

use super::hash::Sha256;
use super::record::InvalidInput;
use serde::{Deserialize, Serialize};

/// The largest logo file accepted, in bytes.
pub const LOGO_MAX_BYTES: usize = 1024 * 1024;

/// The widest or tallest logo accepted, in pixels.
const SIDE_MAX: u32 = 4096;

/// The logo named in the collectivité's identity; its bytes are a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logo {
    /// The image file's digest (its blob).
    pub sha256: Sha256,
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
}

/// What a logo is, before it is kept: its media type and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoImage {
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl LogoImage {
    /// The logo, kept under `sha256`.
    pub fn named(self, sha256: Sha256) -> Logo {
        Logo {
            sha256,
            media_type: self.media_type,
            width: self.width,
            height: self.height,
        }
    }
}

/// A logo's pixels, ready for a PDF image: 8-bit RGB, and the alpha channel
/// when some pixel is not opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Three bytes a pixel, row by row.
    pub rgb: Vec<u8>,
    /// One byte a pixel, when the image is not wholly opaque.
    pub alpha: Option<Vec<u8>>,
}

fn refused(problem: impl Into<String>) -> InvalidInput {
    InvalidInput::new("logo", problem)
}

/// Decodes the image whole, within bounds on its sides and on the memory
/// its pixels take (a small file that unpacks into gigabytes is refused).
fn decode(bytes: &[u8]) -> Result<(image::ImageFormat, image::DynamicImage), InvalidInput> {
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(refused(format!(
            "le logo pèse {} octets ; {} au plus",
            bytes.len(),
            LOGO_MAX_BYTES
        )));
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (image::ImageFormat::Png | image::ImageFormat::Jpeg)) => f,
        _ => return Err(refused("le logo doit être une image PNG ou JPEG")),
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(SIDE_MAX);
    limits.max_image_height = Some(SIDE_MAX);
    limits.max_alloc = Some(u64::from(SIDE_MAX) * u64::from(SIDE_MAX) * 4);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => refused(format!("l'image est trop grande : {SIDE_MAX} pixels de côté au plus")),
        _ => refused("l'image ne peut être lue : le fichier est abîmé ou incomplet"),
    })?;
    if image.width() == 0 || image.height() == 0 {
        return Err(refused("l'image est vide"));
    }
    Ok((format, image))
}

/// Checks a logo given by an admin and says what it is: its media type and
/// its size in pixels.
pub fn examine(bytes: &[u8]) -> Result<LogoImage, InvalidInput> {
    let (format, image) = decode(bytes)?;
    Ok(LogoImage {
        media_type: format.to_mime_type().to_owned(),
        width: image.width(),
        height: image.height(),
    })
}

/// The logo's pixels, scaled down (never up) to fit `side` pixels, for a
/// paper's head.
pub fn pixels(bytes: &[u8], side: u32) -> Result<Pixels, InvalidInput> {
    let (_, image) = decode(bytes)?;
    let image = if image.width() > side || image.height() > side {
        image.resize(side, side, image::imageops::FilterType::CatmullRom)
    } else {
        image
    };
    let rgba = image.to_rgba8();
    let (width, height) = rgba.dimensions();
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    let mut alpha = Vec::with_capacity(rgba.len() / 4);
    for p in rgba.pixels() {
        rgb.extend_from_slice(&p.0[..3]);
        alpha.push(p.0[3]);
    }
    let opaque = alpha.iter().all(|a| *a == u8::MAX);
    Ok(Pixels {
        width,
        height,
        rgb,
        alpha: (!opaque).then_some(alpha),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small PNG: a blue square with a transparent corner.
    pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_fn(width, height, |x, y| {
            if x < 2 && y < 2 {
                image::Rgba([0, 0, 0, 0])
            } else {
                image::Rgba([0, 60, 140, 255])
            }
        });
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).expect("png");
        out.into_inner()
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Jpeg).expect("jpeg");
        out.into_inner()
    }

    #[test]
    fn a_png_and_a_jpeg_are_read_with_their_size() {
        let png = png(40, 20);
        let logo = examine(&png).expect("png");
        assert_eq!(
            (logo.media_type.as_str(), logo.width, logo.height),
            ("image/png", 40, 20)
        );
        let jpeg = jpeg(30, 10);
        let logo = examine(&jpeg).expect("jpeg");
        assert_eq!(
            (logo.media_type.as_str(), logo.width, logo.height),
            ("image/jpeg", 30, 10)
        );
    }

    #[test]
    fn pixels_are_scaled_down_keeping_their_shape_and_transparency() {
        let px = pixels(&png(400, 200), 100).expect("pixels");
        assert_eq!((px.width, px.height), (100, 50));
        assert_eq!(px.rgb.len(), 100 * 50 * 3);
        assert!(px.alpha.is_some(), "the transparent corner is kept");
        let px = pixels(&jpeg(30, 10), 100).expect("pixels");
        assert_eq!((px.width, px.height), (30, 10), "never scaled up");
        assert!(px.alpha.is_none(), "a JPEG is opaque");
    }

    #[test]
    fn what_is_not_a_sound_png_or_jpeg_is_refused_in_french() {
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
        let e = examine(&gif).expect_err("gif");
        assert!(e.problem.contains("PNG ou JPEG"), "{}", e.problem);
        let mut cut = png(64, 64);
        cut.truncate(cut.len() / 2);
        let e = examine(&cut).expect_err("cut");
        assert!(e.problem.contains("abîmé"), "{}", e.problem);
        let e = examine(&png(SIDE_MAX + 1, 1)).expect_err("too wide");
        assert!(e.problem.contains("trop grande"), "{}", e.problem);
        let big = vec![0u8; LOGO_MAX_BYTES + 1];
        assert!(examine(&big).expect_err("heavy").problem.contains("au plus"));
    }

    proptest! {
        /// Any bytes are a logo or a refusal, never a panic.
        #[test]
        fn any_bytes_are_read_or_refused(mut bytes in proptest::collection::vec(any::<u8>(), 0..2048), png_head in any::<bool>()) {
            if png_head {
                let mut head = png(8, 8);
                head.truncate(40);
                head.extend_from_slice(&bytes);
                bytes = head;
            }
            let _ = examine(&bytes);
        }
    }
}
