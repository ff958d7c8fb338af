//! HEIC/HEIF phone photos, decoded by the system's libheif (Debian's
//! `libheif1`, with its built-in HEVC decoder libde265).
//!
//! The library is **loaded at run time** ([`load`]), not linked: a vault
//! built or run without libheif still starts and refuses HEIC photos with a
//! message saying so, and a newcomer's first build needs no `-dev` package.
//! The intake worker calls [`load`] *before* it shuts itself in: after that
//! it may neither open a file nor map executable memory, which is exactly
//! what loading a shared library does. Decoding then happens inside the
//! jail like every other format.
//!
//! Only what the photo's pixels need is used: the primary image, decoded
//! to 8-bit RGB with the container's rotation and mirroring (`irot`,
//! `imir`) applied. EXIF, XMP, depth maps, thumbnails and colour profiles
//! are never read, so none of them can reach the rendition.
//!
//! This is the workspace's one use of `unsafe` outside the jail itself: a C
//! library has no safe interface. Each call's SAFETY comment says what it
//! relies on; the hostile bytes are read by libheif exactly as by any HEIC
//! viewer, and what a bug there could do is bounded by the worker's jail.
#![allow(unsafe_code)]

use std::{
    ffi::{CStr, c_char, c_int, c_void},
    sync::OnceLock,
};

use image::RgbImage;

use crate::{Limits, Refusal, RefusalCode, pdf_out::PageImage};

/// Resolution assumed for a photo (as for a JPEG without JFIF density).
const PHOTO_DPI: f32 = 150.0;

/// `struct heif_error` (heif.h): returned by value, two enums and a
/// message that is always a valid C string.
#[repr(C)]
#[derive(Clone, Copy)]
struct HeifError {
    code: c_int,
    subcode: c_int,
    message: *const c_char,
}

// Opaque libheif types.
type Ctx = c_void;
type Handle = c_void;
type Image = c_void;

/// `heif_colorspace_RGB`, `heif_chroma_interleaved_RGB`,
/// `heif_channel_interleaved` (heif.h, stable since libheif 1.0).
const COLORSPACE_RGB: c_int = 1;
const CHROMA_INTERLEAVED_RGB: c_int = 10;
const CHANNEL_INTERLEAVED: c_int = 10;

// The C signatures used (heif.h).
type CtxFn = unsafe extern "C" fn(*mut Ctx);
type NewCtxFn = unsafe extern "C" fn() -> *mut Ctx;
type InitFn = unsafe extern "C" fn(*mut c_void) -> HeifError;
type ThreadsFn = unsafe extern "C" fn(*mut Ctx, c_int);
type ReadFn = unsafe extern "C" fn(*mut Ctx, *const c_void, usize, *const c_void) -> HeifError;
type PrimaryFn = unsafe extern "C" fn(*mut Ctx, *mut *mut Handle) -> HeifError;
type HandleSizeFn = unsafe extern "C" fn(*const Handle) -> c_int;
type HandleFn = unsafe extern "C" fn(*const Handle);
type DecodeFn = unsafe extern "C" fn(*const Handle, *mut *mut Image, c_int, c_int, *const c_void) -> HeifError;
type ImageSizeFn = unsafe extern "C" fn(*const Image, c_int) -> c_int;
type PlaneFn = unsafe extern "C" fn(*const Image, c_int, *mut c_int) -> *const u8;
type ImageFn = unsafe extern "C" fn(*const Image);

/// The functions used, resolved once from `libheif.so.1`.
struct Api {
    init: InitFn,
    context_alloc: NewCtxFn,
    context_free: CtxFn,
    set_max_threads: ThreadsFn,
    read_from_memory: ReadFn,
    primary_handle: PrimaryFn,
    handle_width: HandleSizeFn,
    handle_height: HandleSizeFn,
    handle_release: HandleFn,
    decode: DecodeFn,
    image_width: ImageSizeFn,
    image_height: ImageSizeFn,
    plane: PlaneFn,
    image_release: ImageFn,
}

// SAFETY: `Api` holds only function pointers into a library that is never
// unloaded; libheif's functions may be called from any thread.
unsafe impl Send for Api {}
unsafe impl Sync for Api {}

static API: OnceLock<Option<Api>> = OnceLock::new();

/// Loads libheif if the machine has it; true when HEIC can be decoded.
/// Idempotent. Must run before the worker confines itself.
pub fn load() -> bool {
    API.get_or_init(open).is_some()
}

fn open() -> Option<Api> {
    // SAFETY: dlopen with a constant, NUL-terminated name; the handle is
    // kept for the life of the process (never dlclose'd), so the function
    // pointers below stay valid. RTLD_NOW resolves every symbol now, so no
    // lazy binding happens later inside the jail.
    let lib = unsafe { libc::dlopen(c"libheif.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if lib.is_null() {
        return None;
    }
    macro_rules! sym {
        ($name:literal as $ty:ty) => {{
            // SAFETY: the symbol is looked up by its C name in the library
            // just opened; its type is the one heif.h declares for it, as
            // written in `Api` (transmute between function pointer types of
            // the same size, from a non-null pointer).
            let p = unsafe { libc::dlsym(lib, $name.as_ptr()) };
            if p.is_null() {
                return None;
            }
            unsafe { std::mem::transmute::<*mut c_void, $ty>(p) }
        }};
    }
    let api = Api {
        init: sym!(c"heif_init" as InitFn),
        context_alloc: sym!(c"heif_context_alloc" as NewCtxFn),
        context_free: sym!(c"heif_context_free" as CtxFn),
        set_max_threads: sym!(c"heif_context_set_max_decoding_threads" as ThreadsFn),
        read_from_memory: sym!(c"heif_context_read_from_memory_without_copy" as ReadFn),
        primary_handle: sym!(c"heif_context_get_primary_image_handle" as PrimaryFn),
        handle_width: sym!(c"heif_image_handle_get_width" as HandleSizeFn),
        handle_height: sym!(c"heif_image_handle_get_height" as HandleSizeFn),
        handle_release: sym!(c"heif_image_handle_release" as HandleFn),
        decode: sym!(c"heif_decode_image" as DecodeFn),
        image_width: sym!(c"heif_image_get_width" as ImageSizeFn),
        image_height: sym!(c"heif_image_get_height" as ImageSizeFn),
        plane: sym!(c"heif_image_get_plane_readonly" as PlaneFn),
        image_release: sym!(c"heif_image_release" as ImageFn),
    };
    // SAFETY: heif_init with no parameters; it loads plugins, if the build
    // has any, which is why it runs here, before confinement.
    let e = unsafe { (api.init)(std::ptr::null_mut()) };
    (e.code == 0).then_some(api)
}

fn broken(e: HeifError) -> Refusal {
    // SAFETY: libheif documents the message as always a valid C string
    // (static or owned by the context, still alive here).
    let why = if e.message.is_null() {
        String::from("unknown error")
    } else {
        unsafe { CStr::from_ptr(e.message) }.to_string_lossy().into_owned()
    };
    Refusal::unusable(
        RefusalCode::BrokenImage,
        format!("the HEIC photo cannot be read ({why}); take the photo again, or send it as JPEG or PDF"),
    )
}

/// Frees what libheif allocated, whatever path decoding leaves by.
struct Owned<'a> {
    api: &'a Api,
    ctx: *mut Ctx,
    handle: *mut Handle,
    image: *mut Image,
}

impl Drop for Owned<'_> {
    fn drop(&mut self) {
        // SAFETY: each pointer is either null or was returned by the
        // matching libheif allocation and not freed yet.
        unsafe {
            if !self.image.is_null() {
                (self.api.image_release)(self.image);
            }
            if !self.handle.is_null() {
                (self.api.handle_release)(self.handle);
            }
            if !self.ctx.is_null() {
                (self.api.context_free)(self.ctx);
            }
        }
    }
}

/// Decodes the primary image of a HEIF file, upright, as RGB pixels.
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<PageImage, Refusal> {
    let Some(api) = API.get().and_then(Option::as_ref) else {
        return Err(Refusal::Unsupported(
            "HEIC/HEIF photos cannot be read on this server (libheif is not installed): \
             set the phone to take photos as JPEG (\"most compatible\"), or send a PDF, JPEG, PNG or TIFF"
                .into(),
        ));
    };
    let check = |e: HeifError| if e.code == 0 { Ok(()) } else { Err(broken(e)) };
    // SAFETY: allocation with no argument; null is checked below.
    let mut own =
        Owned { api, ctx: unsafe { (api.context_alloc)() }, handle: std::ptr::null_mut(), image: std::ptr::null_mut() };
    if own.ctx.is_null() {
        return Err(crate::internal("libheif", "no context"));
    }
    // SAFETY: `bytes` outlives the context (both end in this function; the
    // context is freed first, by `own`'s drop order within this scope).
    // Decoding on the calling thread: the jail allows no new thread.
    unsafe {
        (api.set_max_threads)(own.ctx, 0);
        check((api.read_from_memory)(own.ctx, bytes.as_ptr().cast(), bytes.len(), std::ptr::null()))?;
        check((api.primary_handle)(own.ctx, &mut own.handle))?;
    }
    // SAFETY: a valid handle, just obtained.
    let (w, h) = unsafe { ((api.handle_width)(own.handle), (api.handle_height)(own.handle)) };
    let (w, h) = (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0));
    limits.check_size(w, h)?;
    // SAFETY: a valid handle; null options decode with the defaults, which
    // apply the container's rotation and mirroring.
    unsafe {
        check((api.decode)(own.handle, &mut own.image, COLORSPACE_RGB, CHROMA_INTERLEAVED_RGB, std::ptr::null()))?;
    }
    let mut stride: c_int = 0;
    // SAFETY: a decoded image; its interleaved plane holds `height` rows of
    // `stride` bytes, alive until `image_release`, and read only before it.
    let (iw, ih, plane) = unsafe {
        (
            (api.image_width)(own.image, CHANNEL_INTERLEAVED),
            (api.image_height)(own.image, CHANNEL_INTERLEAVED),
            (api.plane)(own.image, CHANNEL_INTERLEAVED, &mut stride),
        )
    };
    let (Ok(iw), Ok(ih), Ok(stride)) = (usize::try_from(iw), usize::try_from(ih), usize::try_from(stride)) else {
        return Err(crate::internal("libheif", "negative image size"));
    };
    if plane.is_null() || iw == 0 || ih == 0 || stride < iw * 3 {
        return Err(crate::internal("libheif", "no RGB plane"));
    }
    // The rotated size may differ from the handle's; it is checked again.
    limits.check_size(iw as u32, ih as u32)?;
    let mut rgb = Vec::with_capacity(iw * ih * 3);
    for y in 0..ih {
        // SAFETY: row `y` starts at `y * stride` and has `iw * 3` valid
        // bytes (stride ≥ iw * 3, checked above).
        let row = unsafe { std::slice::from_raw_parts(plane.add(y * stride), iw * 3) };
        rgb.extend_from_slice(row);
    }
    drop(own);
    let img = RgbImage::from_raw(iw as u32, ih as u32, rgb).ok_or_else(|| crate::internal("libheif", "short image"))?;
    Ok(PageImage::from_rgb(img, PHOTO_DPI))
}
