"""Pure helpers with no database or web imports: ids, JSON limits, pointers, patches, token crypto."""
