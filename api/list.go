package api

import (
	"strings"
)

// ListParams are the query parameters every LINSTOR list takes.
type ListParams struct {
	Offset int      `query:"offset" minimum:"0" doc:"Number of records to skip"`
	Limit  int      `query:"limit" minimum:"0" doc:"Maximum number of records to return; 0 returns all"`
	Props  []string `query:"props,explode" doc:"Keep only objects with these properties: key=value, or key to require it set"`
}

// page cuts the requested window out of items.
func page[T any](items []T, p ListParams) []T {
	if p.Offset >= len(items) {
		return []T{}
	}
	items = items[p.Offset:]
	if p.Limit > 0 && p.Limit < len(items) {
		items = items[:p.Limit]
	}
	return items
}

// matchProps reports whether props satisfy every filter ("key=value" or
// "key").
func matchProps(props map[string]string, filters []string) bool {
	for _, f := range filters {
		key, value, hasValue := strings.Cut(f, "=")
		got, set := props[key]
		if !set || (hasValue && got != value) {
			return false
		}
	}
	return true
}

// filter keeps the items whose properties pass the filters.
func filter[T any](items []T, props func(T) map[string]string, filters []string) []T {
	if len(filters) == 0 {
		return items
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		if matchProps(props(it), filters) {
			out = append(out, it)
		}
	}
	return out
}
