package aws

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"sort"
	"strings"
	"unicode"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// compileVersion adds the function's AWS::Lambda::Version (named by v3's
// hash so a version is published exactly when code or configuration
// changes), its QualifiedArn output and the provisioned-concurrency or
// SnapStart alias.
func (c *Context) compileVersion(f *service.Function, res map[string]any, artifact, imageSha string) {
	raw := f.Raw
	shouldVersion := c.shouldVersion(f)
	pc, snap := raw.Get("provisionedConcurrency"), raw.Get("snapStart")
	if !c.versioned(f) {
		return
	}
	props := res["Properties"].(map[string]any)
	fnID := FunctionLogicalID(f.Key)

	h := sha256.New()
	versionProps := map[string]any{"FunctionName": cfn.Ref(fnID)}
	if imageSha != "" || artifact == "" {
		versionProps["CodeSha256"] = imageSha
	} else {
		fileHash := c.fileHash(artifact)
		versionProps["CodeSha256"] = fileHash
		h.Write([]byte(fileHash))
	}

	// Layers of this service the function uses feed the hash with their
	// zips and configuration.
	var layerConfigs []any
	var layerPaths []string
	if layers, ok := props["Layers"].([]any); ok {
		for _, l := range layers {
			m, ok := l.(map[string]any)
			if !ok {
				continue
			}
			ref, ok := m["Ref"].(string)
			if !ok {
				continue
			}
			lres := c.Template.Resource(ref)
			key, known := c.layerKeys[ref]
			if lres == nil || !known {
				continue
			}
			lprops := cfn.DeepCopy(lres["Properties"]).(map[string]any)
			if content, ok := lprops["Content"].(map[string]any); ok {
				delete(content, "S3Key")
			}
			layerConfigs = append(layerConfigs, map[string]any{"name": key, "ref": ref, "properties": lprops})
			for _, l := range c.Svc.Layers {
				if l.Key == key {
					layerPaths = append(layerPaths, c.LayerArtifact(l))
				}
			}
		}
	}
	sort.Strings(layerPaths)
	for _, p := range layerPaths {
		h.Write([]byte(c.fileHash(p)))
	}
	hashed := cfn.DeepCopy(props).(map[string]any)
	if imageSha == "" {
		delete(hashed, "Code")
	}
	delete(hashed, "ReservedConcurrentExecutions")
	delete(hashed, "Tags")
	if layerConfigs == nil {
		layerConfigs = []any{}
	}
	hashed["layerConfigurations"] = layerConfigs
	var b bytes.Buffer
	writeJSValue(&b, hashed, true)
	h.Write(b.Bytes())
	digest := base64.StdEncoding.EncodeToString(h.Sum(nil))

	if d := raw.Get("description"); d.Truthy() {
		versionProps["Description"] = d.Interface()
	}
	version := map[string]any{"Type": "AWS::Lambda::Version", "DeletionPolicy": "Retain", "Properties": versionProps}
	versionID := VersionLogicalID(f.Key, digest)
	c.versionIDs[f.Key] = versionID
	c.Template.Resources[versionID] = version
	c.Template.AddOutput(VersionOutputLogicalID(f.Key), "Current Lambda function version", cfn.Ref(versionID))

	if pc.Truthy() && snap.Truthy() {
		c.Diags.Errorf(f.Pos, "functions."+f.Key,
			"Functions with enabled SnapStart does not support provisioned concurrency. Please remove at least one of the settings on function %q.", f.Key)
		return
	}
	if pc.Truthy() {
		if !shouldVersion {
			delete(version, "DeletionPolicy")
		}
		id := ProvisionedConcurrencyAliasLogicalID(f.Key)
		c.aliases[f.Key] = alias{ProvisionedConcurrencyAliasName, id}
		c.Template.Resources[id] = map[string]any{
			"Type": "AWS::Lambda::Alias",
			"Properties": map[string]any{
				"FunctionName":    cfn.Ref(fnID),
				"FunctionVersion": cfn.GetAtt(versionID, "Version"),
				"Name":            ProvisionedConcurrencyAliasName,
				"ProvisionedConcurrencyConfig": map[string]any{
					"ProvisionedConcurrentExecutions": pc.Interface(),
				},
			},
			"DependsOn": fnID,
		}
	}
	if snap.Truthy() {
		if !shouldVersion {
			delete(version, "DeletionPolicy")
		}
		props["SnapStart"] = map[string]any{"ApplyOn": "PublishedVersions"}
		id := SnapStartAliasLogicalID(f.Key)
		c.aliases[f.Key] = alias{SnapStartAliasName, id}
		c.Template.Resources[id] = map[string]any{
			"Type": "AWS::Lambda::Alias",
			"Properties": map[string]any{
				"FunctionName":    cfn.Ref(fnID),
				"FunctionVersion": cfn.GetAtt(versionID, "Version"),
				"Name":            SnapStartAliasName,
			},
			"DependsOn": fnID,
		}
	}
}

// shouldVersion is function.versionFunction, else provider.versionFunctions
// (default true).
func (c *Context) shouldVersion(f *service.Function) bool {
	if v := f.Raw.Get("versionFunction"); v != nil && v.Kind != config.Null {
		return v.Truthy()
	}
	if v := c.Svc.Provider.Raw.Get("versionFunctions"); v != nil && v.Kind != config.Null {
		return v.Truthy()
	}
	return true
}

// versioned reports whether the function gets an AWS::Lambda::Version.
func (c *Context) versioned(f *service.Function) bool {
	return c.shouldVersion(f) || f.Raw.Get("provisionedConcurrency").Truthy() || f.Raw.Get("snapStart").Truthy()
}

// sortLocale orders keys as JavaScript's String.prototype.localeCompare
// does under ICU's root collation, which v3's deepSortObjectByKey uses:
// punctuation before digits before letters, letters compared ignoring
// case first, lower case before upper case on ties.
func sortLocale(keys []string) {
	sort.SliceStable(keys, func(i, j int) bool { return localeLess(keys[i], keys[j]) })
}

func localeLess(a, b string) bool {
	if c := comparePrimary(a, b); c != 0 {
		return c < 0
	}
	// Tertiary: lower case sorts before upper case at the first difference.
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		if ra[i] != rb[i] {
			return unicode.IsLower(ra[i]) && !unicode.IsLower(rb[i])
		}
	}
	return len(ra) < len(rb)
}

func comparePrimary(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		wa, wb := primaryWeight(ra[i]), primaryWeight(rb[i])
		if wa != wb {
			if wa < wb {
				return -1
			}
			return 1
		}
	}
	return len(ra) - len(rb)
}

// punctuationOrder is ICU's root order of ASCII punctuation and symbols.
const punctuationOrder = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"

func primaryWeight(r rune) int {
	switch {
	case unicode.IsSpace(r):
		return int(r)
	case strings.ContainsRune(punctuationOrder, r):
		return 0x100 + strings.IndexRune(punctuationOrder, r)
	case r >= '0' && r <= '9':
		return 0x200 + int(r-'0')
	case r < 0x80 && unicode.IsLetter(r):
		return 0x300 + int(unicode.ToLower(r)-'a')
	}
	return 0x400 + int(unicode.ToLower(r))
}
