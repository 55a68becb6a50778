/// Where each step's text comes from: the kernel file and function it mirrors, the release it
/// describes and whether that was checked against a tree. docs/sources.md lists the trees; a
/// step whose function is missing here gets an UNCONFIRMED "(not catalogued)" source, and a test
/// keeps every step the simulator prints catalogued.
enum SourceCatalogue {
  static let mainline = "mainline (v7.3-era)"

  private static let dmaBuf = "drivers/dma-buf/dma-buf.c"
  private static let amdgpu = "drivers/gpu/drm/amd/amdgpu/amdgpu_dma_buf.c"
  private static let xe = "drivers/gpu/drm/xe/xe_dma_buf.c"
  private static let xeTree = "6.13-6.18 tree (torvalds@4f978603); mainline behaviour assumed the same"
  private static let i915 = "drivers/gpu/drm/i915/gem/i915_gem_dmabuf.c"
  private static let vfio = "drivers/vfio/pci/vfio_pci_dmabuf.c"
  private static let drmPrime = "drivers/gpu/drm/drm_prime.c"
  private static let udmabuf = "drivers/dma-buf/udmabuf.c"

  /// (file, release, confirmed) by the first function a step names.
  private static let entries: [String: (file: String, release: String, confirmed: Bool)] = [
    "dma_buf_fd": (dmaBuf, mainline, true),
    "dma_buf_get": (dmaBuf, mainline, true),
    "dma_buf_put": (dmaBuf, mainline, true),
    "dma_buf_attach": (dmaBuf, mainline, true),
    "dma_buf_dynamic_attach": (dmaBuf, mainline, true),
    "attach": (dmaBuf, mainline, true),
    "dma_buf_pin": (dmaBuf, mainline, true),
    "dma_buf_unpin": (dmaBuf, mainline, true),
    "dma_buf_map_attachment": (dmaBuf, mainline, true),
    "dma_buf_unmap_attachment": (dmaBuf, mainline, true),
    "dma_buf_detach": (dmaBuf, mainline, true),
    "dma_buf_move_notify": (dmaBuf, "5.7-7.0 name (7.1: dma_buf_invalidate_mappings)", true),
    "pci_p2pdma_distance_many": ("drivers/pci/p2pdma.c", "≤6.0 amdgpu attach (verbose=true)", true),
    "ib_umem_dmabuf_get": ("drivers/infiniband/core/umem_dmabuf.c", "5.12+", true),
    "ib_umem_dmabuf_get_pinned": ("drivers/infiniband/core/umem_dmabuf.c", "5.16+", true),
    "xe_gem_prime_import": (xe, "6.8+ (UNCONFIRMED)", false),
    "dma_buf_invalidate_mappings": (dmaBuf, "7.1+ (rename of dma_buf_move_notify; tag UNCONFIRMED)", false),
    "importer_ops->invalidate_mappings": ("include/linux/dma-buf.h", "7.1+ (was move_notify)", false),
    "re-map": ("include/linux/dma-buf.h (importer contract)", mainline, true),
    "for_each_sgtable_dma_sg": ("include/linux/scatterlist.h", mainline, true),
    "dma_map_sgtable": ("kernel/dma/mapping.c", mainline, true),
    "dma_buf_phys_vec_to_sgt": ("drivers/dma-buf/dma-buf-mapping.c", "6.19+", true),
    "pci_p2pdma_distance": ("drivers/pci/p2pdma.c", mainline, true),
    "pci_p2pdma_map_type": ("drivers/pci/p2pdma.c", mainline, true),
    "amdgpu_gem_prime_export": (amdgpu, mainline, true),
    "amdgpu_dma_buf_attach": (amdgpu, mainline, true),
    "amdgpu_dma_buf_pin": (amdgpu, mainline, true),
    "amdgpu_dma_buf_map": (amdgpu, mainline, true),
    "amdgpu_dma_buf_move_notify": (amdgpu, "≤7.0 name; 7.1+ invalidate_mappings", true),
    "amdgpu_bo_pin": ("drivers/gpu/drm/amd/amdgpu/amdgpu_object.c", mainline, true),
    "ttm_bo_validate": ("drivers/gpu/drm/ttm/ttm_bo.c", mainline, true),
    "amdgpu_vram_mgr_alloc_sgt": ("drivers/gpu/drm/amd/amdgpu/amdgpu_vram_mgr.c", mainline, true),
    "drm_prime_pages_to_sg": (drmPrime, mainline, true),
    "xe_gem_prime_export": (xe, xeTree, true),
    "xe_dma_buf_attach": (xe, xeTree, true),
    "xe_dma_buf_pin": (xe, "6.19+ VRAM pin (list archive; pin body not read)", false),
    "xe_dma_buf_map": (xe, xeTree, true),
    "xe_dma_buf_move_notify": (xe, "≤7.0 name; 7.1+ invalidate_mappings", true),
    "xe_bo_migrate": ("drivers/gpu/drm/xe/xe_bo.c", mainline, false),
    "xe_ttm_vram_mgr_alloc_sgt": ("drivers/gpu/drm/xe/xe_ttm_vram_mgr.c", xeTree, true),
    "i915_gem_prime_export": (i915, mainline, false),
    "i915_gem_dmabuf_attach": (i915, mainline, false),
    "i915_gem_map_dma_buf": (i915, mainline, false),
    "i915_gem_object_migrate": ("drivers/gpu/drm/i915/gem/i915_gem_object.c", mainline, false),
    "vfio_pci_core_feature_dma_buf": (vfio, "6.19+", true),
    "vfio_pci_dma_buf_attach": (vfio, "6.19+", true),
    "vfio_pci_dma_buf_pin": (vfio, "6.19+ (61ceaf236115)", true),
    "vfio_pci_dma_buf_map": (vfio, "6.19+", true),
    "udmabuf_create": (udmabuf, mainline, false),
    "get_sg_table": (udmabuf, "mainline (folio-based udmabuf)", false),
    "map_udmabuf": (udmabuf, mainline, false),
    "drm_gem_prime_export": (drmPrime, mainline, false),
    "drm_gem_map_attach": (drmPrime, mainline, false),
    "drm_gem_map_dma_buf": (drmPrime, mainline, false),
    "mlx5_ib_dmabuf_invalidate_cb": ("drivers/infiniband/hw/mlx5/mr.c", mainline, false),
    "ib_umem_dmabuf_unsupported_move_notify": (
      "drivers/infiniband/core/umem_dmabuf.c", "≤7.0 name; 2026: dma_buf_unsupported_invalidate_mappings", false
    ),
  ]

  /// The first function a step's `function` text names: `amdgpu_bo_pin -> ttm_bo_validate` gives
  /// `amdgpu_bo_pin`, `xe_bo_migrate(XE_PL_TT)` gives `xe_bo_migrate`.
  static func key(of function: String) -> String {
    String(function.prefix { $0 != " " && $0 != "(" && $0 != ":" })
  }

  /// True when the catalogue knows the step's function.
  static func knows(_ function: String) -> Bool { entries[key(of: function)] != nil }

  static func source(for function: String) -> StepSource {
    let key = key(of: function)
    guard let entry = entries[key] else {
      return StepSource(file: "(not catalogued)", function: key, release: mainline, confirmed: false)
    }
    return StepSource(file: entry.file, function: key, release: entry.release, confirmed: entry.confirmed)
  }
}
