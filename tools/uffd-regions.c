// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "uffd-regions.h"

/*
 * A region's page size in bytes: page_size (Firecracker v1.12 on) when
 * given, else page_size_kib, which Firecracker v1.10 fills with the page
 * size in bytes despite its name (HugePageConfig::page_size_kib() in
 * src/vmm/src/vmm_config/machine_config.rs).  Neither: Firecracker
 * before v1.7, whose pages were 4 KiB.  0 when not an integer.
 */
static json_int_t region_page_size(json_t *region)
{
	json_t *v = json_object_get(region, "page_size");

	if (!v)
		v = json_object_get(region, "page_size_kib");
	if (!v)
		return UFFD_PAGE;
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/*
 * Faults are served a page at a time from the region's offset: a region
 * not page aligned would have its last page read past the region.
 */
static int bad_region(json_int_t base, json_int_t size, json_int_t offset,
		      json_int_t ps, uint64_t mem_size)
{
	return (ps != UFFD_PAGE && ps != UFFD_HUGE_PAGE) || size <= 0 ||
	       offset < 0 || (uint64_t)offset + size > mem_size ||
	       ((uint64_t)base | size | offset) % ps;
}

int uffd_regions__parse(const char *buf, size_t len, uint64_t mem_size,
			struct uffd_region *regions, unsigned int *nr)
{
	json_error_t jerr;
	json_t *arr = json_loadb(buf, len, 0, &jerr), *v;
	size_t i;
	int ret = 0;

	*nr = 0;
	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > UFFD_MAX_REGIONS) {
		fprintf(stderr, "uffd-handler: bad region array: %s\n",
			arr ? "not 1 to 16 regions" : jerr.text);
		json_decref(arr);
		return -EINVAL;
	}
	json_array_foreach(arr, i, v) {
		json_int_t base, size, offset, ps = region_page_size(v);

		if (json_unpack_ex(v, &jerr, 0, "{s:I, s:I, s:I}",
				   "base_host_virt_addr", &base, "size", &size,
				   "offset", &offset) ||
		    bad_region(base, size, offset, ps, mem_size)) {
			fprintf(stderr, "uffd-handler: bad region %zu (%s)\n",
				i, jerr.text[0] ? jerr.text :
				"outside the memory file, or not aligned "
				"4 KiB or 2 MiB pages");
			ret = -EINVAL;
			break;
		}
		regions[i] = (struct uffd_region) {
			.base = base, .size = size, .offset = offset,
			.page_size = ps,
		};
		(*nr)++;
	}
	json_decref(arr);
	return ret;
}
