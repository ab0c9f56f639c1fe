package schema

import "sort"

// EventTypes lists the function event types serverless v3.40.0 knows,
// sorted. An event of any other type is what the schema check reports as
// an unsupported function event.
func EventTypes() []string {
	events := eventSchemas()
	out := make([]string, 0, len(events))
	for name := range events {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
