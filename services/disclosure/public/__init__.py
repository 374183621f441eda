"""The public read surface: search, a department's history, exports, feeds, the open-data
catalog, comparison across jurisdictions and the transparency index. Everything here reads
published versions only (`publication_versions`), never a draft."""
