"""63x63 science, template and difference cutouts with a PSF source.

The image model, in DN with the exposure's zero point:

- template = sky + template noise + static scene (field stars, host galaxy,
  the reference flux of the source),
- science  = sky + science noise + static scene + PSF x (reference + measured
  difference flux),
- difference = science noise - template noise + PSF x measured difference flux,

so ``science - template == difference`` pixel by pixel, and the difference
holds exactly the flux that ``magpsf`` reports. Artefacts get a sharp, dipole
residual instead of a PSF.

Speed: every random field (noise, star field) is drawn once per seed into
pools; each stamp is a crop of a pool at offsets hashed from the candid, so a
cutout is a few vector operations plus gzip (level 1 by default).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from finkportal_tools.sim.fits import gzipped_fits, image_header
from finkportal_tools.sim.objects import SimObject
from finkportal_tools.sim.photometry import ZERO_POINT, mag_to_flux

SIZE = 63
STAMP_ZERO_POINT = 26.2  # magnitude of 1 DN in the stamps
_POOL = 384
_CENTRE = SIZE // 2
_ARCSEC_PER_PIXEL = 1.01
_TEMPLATE_FRAMES = 20
_HEADER = image_header(SIZE, SIZE)
Image = NDArray[np.float32]


def _gaussian(fwhm: float, dx: float = 0.0, dy: float = 0.0, axis_ratio: float = 1.0) -> Image:
    """Unit-sum elliptical Gaussian centred at (_CENTRE + dx, _CENTRE + dy)."""
    sigma = fwhm / 2.3548
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    r2 = ((x - _CENTRE - dx) / sigma) ** 2 + ((y - _CENTRE - dy) / (sigma * axis_ratio)) ** 2
    profile = np.exp(-0.5 * r2)
    return (profile / profile.sum()).astype(np.float32)


def _exponential_disk(scale: float, axis_ratio: float, dx: float, dy: float) -> Image:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    r = np.hypot(x - _CENTRE - dx, (y - _CENTRE - dy) / axis_ratio)
    profile = np.exp(-r / scale)
    return (profile / profile.sum()).astype(np.float32)


class CutoutFactory:
    """Makes the three gzipped FITS cutouts of an alert, reproducibly from a seed."""

    def __init__(self, seed: int, compresslevel: int = 1):
        if not 0 <= compresslevel <= 9:
            raise ValueError(f"gzip compresslevel must be 0-9, got {compresslevel}")
        self.compresslevel = compresslevel
        rng = np.random.default_rng([seed, 0x43555453])
        self._noise = rng.standard_normal((2, _POOL, _POOL), dtype=np.float32)
        self._stars = self._star_field(rng)
        # PSFs on a 0.1 px grid of FWHM: the seeing of an exposure picks one.
        self._psfs = {k: _gaussian(k / 10.0) for k in range(12, 40)}
        self._artefact = _gaussian(1.0) - 0.8 * _gaussian(1.0, dx=1.3)

    @staticmethod
    def _star_field(rng: np.random.Generator) -> Image:
        """Unrelated field stars (unit zero point 25), spread over the pool."""
        field = np.zeros((_POOL, _POOL), dtype=np.float32)
        psf = _gaussian(2.0)[_CENTRE - 6:_CENTRE + 7, _CENTRE - 6:_CENTRE + 7]
        for _ in range(60):
            x, y = rng.integers(6, _POOL - 7, 2)
            flux = float(mag_to_flux(rng.uniform(16.5, 21.5)))
            field[y - 6:y + 7, x - 6:x + 7] += flux * psf
        return field

    def _crop(self, pool: NDArray[np.float32], key: int) -> Image:
        span = pool.shape[-1] - SIZE
        ox, oy = (key * 2_654_435_761) % span, (key * 40_503 + 7) % span
        crop: Image = pool[..., oy:oy + SIZE, ox:ox + SIZE]
        return crop

    def cutouts(self, obj: SimObject, epoch: int, candid: int, pid: int) -> dict[str, Any]:
        """``cutoutScience``, ``cutoutTemplate``, ``cutoutDifference`` of one alert."""
        science, template, difference = self.images(obj, epoch, candid)
        level = self.compresslevel

        def cutout(name: str, image: Image) -> dict[str, Any]:
            return {"fileName": name, "stampData": gzipped_fits(image, level, _HEADER)}

        return {
            "cutoutScience": cutout(f"candid{candid}_pid{pid}_targ_sci.fits.gz", science),
            "cutoutTemplate": cutout(f"candid{candid}_ref.fits.gz", template),
            "cutoutDifference": cutout(f"candid{candid}_pid{pid}_targ_scimref.fits.gz",
                                       difference),
        }

    def images(self, obj: SimObject, epoch: int, candid: int) -> tuple[Image, Image, Image]:
        """The three float32 images (science, template, difference)."""
        zp_scale = 10 ** (0.4 * (STAMP_ZERO_POINT - ZERO_POINT))  # flux units -> DN
        fwhm = float(obj.epochs.fwhm[epoch])
        psf = self._psfs[min(max(round(fwhm * 10), 12), 39)]
        sigma_pixel = self._pixel_noise(float(obj.epochs.diffmaglim[epoch]), fwhm, zp_scale)
        noise = self._crop(self._noise, candid)
        science_noise = sigma_pixel * noise[0]
        template_noise = (sigma_pixel / math.sqrt(_TEMPLATE_FRAMES)) * noise[1]
        static = self._static_scene(obj, epoch, zp_scale)
        diff_flux = float(obj.obs.diff_flux[epoch]) * zp_scale
        shape = self._artefact if not obj.source.real else psf
        transient = diff_flux * shape
        sky = np.float32(150.0 + 25.0 * (obj.field.field_id % 8))
        difference = (science_noise - template_noise + transient).astype(np.float32)
        template = (sky + template_noise + static).astype(np.float32)
        science = (template + difference).astype(np.float32)
        return science, template, difference

    @staticmethod
    def _pixel_noise(diffmaglim: float, fwhm: float, zp_scale: float) -> float:
        """Per-pixel sigma such that a PSF source at ``diffmaglim`` has SNR 5."""
        limit_flux = float(mag_to_flux(diffmaglim)) * zp_scale
        effective_area = 4.0 * math.pi * (fwhm / 2.3548) ** 2
        return limit_flux / (5.0 * math.sqrt(effective_area))

    def _static_scene(self, obj: SimObject, epoch: int, zp_scale: float) -> Image:
        """Field stars, host galaxy and the reference flux of the source itself."""
        stars = self._crop(self._stars, obj.index * 7919 + obj.field.field_id) * zp_scale
        reference_flux = float(mag_to_flux(obj.reference_mag[epoch])) * zp_scale
        scene = stars + reference_flux * self._psfs[20]
        if obj.source.kind == "sn_ia":
            scene = scene + self._host(obj, epoch) * zp_scale
        return scene.astype(np.float32)

    def _host(self, obj: SimObject, epoch: int) -> Image:
        cat, extra = obj.source.catalog, obj.source.extra
        offset = cat["distnr"] / _ARCSEC_PER_PIXEL
        angle = extra.get("host_angle", 0.0)
        dx, dy = offset * math.sin(angle), offset * math.cos(angle)
        flux = float(mag_to_flux(cat["magnr"][int(obj.epochs.fid[epoch]) - 1]))
        disk = _exponential_disk(1.5 + obj.index % 4, 0.5 + 0.1 * (obj.index % 5), dx, dy)
        return flux * disk
