package schema

import (
	"fmt"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// mergeLists applies v3's legacy list form of functions and resources
// (typically "- ${file(a.yml)}" items): the items are deep-merged, in
// order, into one mapping, the way lodash's merge does (maps key by key,
// lists index by index, anything else replaced). Null items are skipped;
// any other non-mapping item is an error.
func mergeLists(root *config.Node) diag.Diagnostics {
	var ds diag.Diagnostics
	for _, key := range []string{"resources", "functions"} {
		p := root.Pair(key)
		if p == nil || p.Value == nil || p.Value.Kind != config.Seq {
			continue
		}
		merged := config.NewMap(p.Value.Pos)
		ok := true
		for i, it := range p.Value.Items {
			switch it.Kind {
			case config.Null:
			case config.Map:
				merged = mergeNodes(merged, it)
			default:
				ok = false
				ds.Append(valueDiag(diag.Error, it, fmt.Sprintf("%s[%d]", key, i),
					fmt.Sprintf("non-object value specified in %s list: %s", key, it.Scalar()),
					fmt.Sprintf("Each item of a %s list must be a mapping; the items are merged into one.", key)))
			}
		}
		if ok {
			p.Value = merged
		}
	}
	return ds
}

func mergeNodes(dst, src *config.Node) *config.Node {
	switch {
	case dst != nil && dst.Kind == config.Map && src.Kind == config.Map:
		for _, sp := range src.Pairs {
			if dp := dst.Pair(sp.Key); dp != nil {
				dp.Value = mergeNodes(dp.Value, sp.Value)
			} else {
				dst.Pairs = append(dst.Pairs, config.Pair{Key: sp.Key, KeyPos: sp.KeyPos, Value: sp.Value.Clone()})
			}
		}
		return dst
	case dst != nil && dst.Kind == config.Seq && src.Kind == config.Seq:
		for i, it := range src.Items {
			if i < len(dst.Items) {
				dst.Items[i] = mergeNodes(dst.Items[i], it)
			} else {
				dst.Items = append(dst.Items, it.Clone())
			}
		}
		return dst
	}
	return src.Clone()
}

// checkFunctionShapes makes v3's checks of the functions mapping itself:
// it must be a mapping, and each function a mapping (a null function is
// dropped by v3, which Nimbus mentions).
func checkFunctionShapes(root *config.Node) diag.Diagnostics {
	var ds diag.Diagnostics
	p := root.Pair("functions")
	if p == nil || p.Value == nil || p.Value.Kind == config.Null || p.Value.Kind == config.Seq {
		return nil // a list that mergeLists could not merge is reported there
	}
	if p.Value.Kind != config.Map {
		ds.Append(valueDiag(diag.Error, p.Value, "functions",
			fmt.Sprintf(`unexpected "functions" configuration: expected a mapping of function names to their settings, got %s`, kindPhrase(p.Value.Kind)), ""))
		return ds
	}
	for i := range p.Value.Pairs {
		fp := &p.Value.Pairs[i]
		switch {
		case fp.Value == nil || fp.Value.Kind == config.Null:
			ds.Append(keyDiag(diag.Warning, fp, "functions."+fp.Key,
				fmt.Sprintf("function %q has no settings and is ignored", fp.Key), ""))
		case fp.Value.Kind != config.Map:
			ds.Append(valueDiag(diag.Error, fp.Value, "functions."+fp.Key,
				fmt.Sprintf(`unexpected %q function configuration: expected a mapping, got %s`, fp.Key, kindPhrase(fp.Value.Kind)),
				"A function is a mapping with at least \"handler\" (or \"image\")."))
		}
	}
	return ds
}
