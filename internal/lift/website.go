package lift

import (
	"crypto/md5"
	"encoding/hex"
	"path"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// Website construct types: both serve a directory from an S3 website
// bucket behind CloudFront; a single-page app also rewrites page
// requests to /index.html.
const (
	StaticWebsiteType = "static-website"
	SinglePageAppType = "single-page-app"
)

// IsWebsite reports whether a construct type is one whose files lift
// uploads after deploying.
func IsWebsite(typ string) bool {
	return typ == StaticWebsiteType || typ == SinglePageAppType || typ == ServerSideWebsiteType
}

// cachingOptimizedPolicy is the ID of CloudFront's managed
// CachingOptimized cache policy.
const cachingOptimizedPolicy = "658327ea-f89d-4fab-a63d-7e88639e58f6"

// securityHeaders are the headers lift's viewer-response function adds,
// in its order.
var securityHeaders = [][2]string{
	{"x-frame-options", "SAMEORIGIN"},
	{"x-content-type-options", "nosniff"},
	{"x-xss-protection", "1; mode=block"},
	{"strict-transport-security", "max-age=63072000"},
}

// spaRedirect matches the URIs a single-page app serves /index.html for:
// those without an extension or with one that is not a static asset's.
const spaRedirect = `/^[^.]+$|\.(?!(css|gif|ico|jpg|jpeg|js|png|txt|svg|woff|woff2|ttf|map|json|webp|xml|pdf|webmanifest|avif|wasm|lottie)$)([^.]+$)/`

// buildWebsite is lift's static-website and single-page-app constructs:
// a public website bucket (its files are uploaded after deploy), a
// CloudFront distribution in front of it with security headers, and
// for a single-page app or redirectToMainDomain a viewer-request
// function.
func buildWebsite(id, typ string, v *config.Node, stackName, region string, ds *diag.Diagnostics) *construct {
	pos := v.Pos
	path := "constructs." + id
	c := &construct{id: id, pos: pos, variables: map[string]*config.Node{}}
	if v.Get("path") == nil {
		invalid(ds, v, path, id, "must have required property 'path'")
		return nil
	}
	domains := websiteDomains(v)
	certificate := v.Get("certificate").Scalar0()
	if len(domains) > 0 && certificate == "" {
		ds.Errorf(v.Get("domain").Pos, path+".domain", "Invalid configuration for the static website '%s': if a domain is configured, then a certificate ARN must be configured in the 'certificate' option.", id)
		(*ds)[len(*ds)-1].Detail = "See https://github.com/getlift/lift/blob/master/docs/static-website.md#custom-domain"
		return nil
	}
	errorPath := ""
	if e := v.Get("errorPage"); e != nil && e.Kind == config.String {
		errorPath = e.Value.(string)
		if strings.HasPrefix(errorPath, "./") || strings.HasPrefix(errorPath, "../") {
			ds.Errorf(e.Pos, path+".errorPage", "The 'errorPage' option of the '%s' static website cannot start with './' or '../'. (it cannot be a relative path).", id)
			return nil
		}
		if !strings.HasPrefix(errorPath, "/") {
			errorPath = "/" + errorPath
		}
	}
	bucketID := LogicalID(id, "Bucket", "Resource")
	policyID := LogicalID(id, "Bucket", "Policy", "Resource")
	responseID := LogicalID(id, "ResponseFunction", "Resource")
	requestID := LogicalID(id, "RequestFunction", "Resource")
	cdnID := LogicalID(id, "CDN", "Resource")
	originID := LogicalID(id, "CDN", "Origin1")
	identityID := LogicalID(id, "CDN", "Origin1", "S3Origin", "Resource")

	bucketProps := config.NewMap(pos)
	if isTrue(v.Get("versionedAssets")) {
		bucketProps.Set("LifecycleConfiguration", obsoleteExpiry(pos))
	}
	// A static website is served by S3's public website endpoint; a
	// single-page app's bucket stays private, read through an origin
	// access identity.
	websiteBucket := typ == StaticWebsiteType
	if websiteBucket {
		bucketProps.Set("PublicAccessBlockConfiguration", obj(pos, "BlockPublicAcls", false, "BlockPublicPolicy", false, "IgnorePublicAcls", false, "RestrictPublicBuckets", false))
		website := config.NewMap(pos)
		if errorPath != "" {
			website.Set("ErrorDocument", config.NewString(errorPath, pos))
		}
		website.Set("IndexDocument", config.NewString("index.html", pos))
		bucketProps.Set("WebsiteConfiguration", website)
	}

	headers := securityHeaders
	if isTrue(v.Lookup("security", "allowIframe")) {
		headers = headers[1:]
	}
	// The headers as JSON.stringify(…, 4) writes them, pasted unindented.
	var hb strings.Builder
	hb.WriteString("{")
	for i, h := range headers {
		if i > 0 {
			hb.WriteString(",")
		}
		hb.WriteString("\n    \"" + h[0] + "\": {\n        \"value\": \"" + h[1] + "\"\n    }")
	}
	hb.WriteString("\n}")
	responseCode := "function handler(event) {\n    var response = event.response;\n    response.headers = Object.assign({}, " + hb.String() + ", response.headers);\n    return response;\n}"

	redirect := mainDomainRedirect(v, domains)
	requestCode := ""
	switch {
	case typ == SinglePageAppType:
		requestCode = "var REDIRECT_REGEX = " + spaRedirect + ";\n\nfunction handler(event) {\n    var uri = event.request.uri;\n    var request = event.request;\n    var isUriToRedirect = REDIRECT_REGEX.test(uri);\n\n    if (isUriToRedirect) {\n        request.uri = \"/index.html\";\n    }" + redirect + "\n\n    return event.request;\n}"
	case redirect != "":
		requestCode = "function handler(event) {\n    var request = event.request;" + redirect + "\n    return request;\n}"
	}
	associations := config.NewSeq(pos, obj(pos, "EventType", "viewer-response", "FunctionARN", getAtt(responseID, "FunctionARN", pos)))
	if requestCode != "" {
		associations.Items = append(associations.Items, obj(pos, "EventType", "viewer-request", "FunctionARN", getAtt(requestID, "FunctionARN", pos)))
	}
	errorResponse := obj(pos, "ErrorCachingMinTTL", 0, "ErrorCode", 404, "ResponseCode", 200, "ResponsePagePath", "/index.html")
	if errorPath != "" {
		errorResponse = obj(pos, "ErrorCachingMinTTL", 0, "ErrorCode", 404, "ResponseCode", 404, "ResponsePagePath", errorPath)
	}
	distribution := config.NewMap(pos)
	if len(domains) > 0 {
		distribution.Set("Aliases", stringList(pos, domains...))
	}
	distribution.Set("Comment", config.NewString(stackName+" "+id+" website CDN", pos))
	distribution.Set("CustomErrorResponses", config.NewSeq(pos, errorResponse))
	distribution.Set("DefaultCacheBehavior", obj(pos,
		"AllowedMethods", stringList(pos, "GET", "HEAD", "OPTIONS"),
		"CachePolicyId", cachingOptimizedPolicy,
		"Compress", true,
		"FunctionAssociations", associations,
		"TargetOriginId", originID,
		"ViewerProtocolPolicy", "redirect-to-https"))
	distribution.Set("DefaultRootObject", config.NewString("index.html", pos))
	distribution.Set("Enabled", config.NewBool(true, pos))
	distribution.Set("HttpVersion", config.NewString("http2", pos))
	distribution.Set("IPV6Enabled", config.NewBool(true, pos))
	if websiteBucket {
		// A website bucket is an HTTP origin, reached by its website host.
		distribution.Set("Origins", config.NewSeq(pos, obj(pos,
			"CustomOriginConfig", obj(pos, "OriginProtocolPolicy", "http-only", "OriginSSLProtocols", stringList(pos, "TLSv1.2")),
			"DomainName", obj(pos, "Fn::Select", config.NewSeq(pos, config.NewInt(2, pos),
				obj(pos, "Fn::Split", config.NewSeq(pos, config.NewString("/", pos), getAtt(bucketID, "WebsiteURL", pos))))),
			"Id", originID)))
	} else {
		distribution.Set("Origins", config.NewSeq(pos, obj(pos,
			"DomainName", getAtt(bucketID, "RegionalDomainName", pos),
			"Id", originID,
			"S3OriginConfig", obj(pos, "OriginAccessIdentity", join("", pos,
				config.NewString("origin-access-identity/cloudfront/", pos), ref(identityID, pos))))))
	}
	setViewerCertificate(distribution, certificate)

	bucket := obj(pos, "Type", "AWS::S3::Bucket")
	if len(bucketProps.Pairs) > 0 {
		bucket.Set("Properties", bucketProps)
	}
	bucket.Set("UpdateReplacePolicy", config.NewString("Delete", pos))
	bucket.Set("DeletionPolicy", config.NewString("Delete", pos))
	reader := obj(pos, "AWS", "*")
	if !websiteBucket {
		reader = obj(pos, "CanonicalUser", getAtt(identityID, "S3CanonicalUserId", pos))
	}
	c.resources = []named{
		{bucketID, bucket},
		{policyID, obj(pos, "Type", "AWS::S3::BucketPolicy", "Properties", obj(pos,
			"Bucket", ref(bucketID, pos),
			"PolicyDocument", obj(pos, "Statement", config.NewSeq(pos, obj(pos,
				"Action", "s3:GetObject", "Effect", "Allow", "Principal", reader,
				"Resource", join("", pos, getAtt(bucketID, "Arn", pos), config.NewString("/*", pos)))),
				"Version", "2012-10-17")))},
		{responseID, cloudFrontFunction(pos, stackName+"-"+region+"-"+id+"-response", responseCode)},
	}
	if !websiteBucket {
		c.resources = append(c.resources, named{identityID, obj(pos, "Type", "AWS::CloudFront::CloudFrontOriginAccessIdentity", "Properties", obj(pos,
			"CloudFrontOriginAccessIdentityConfig", obj(pos, "Comment", "Identity for "+originID)))})
	}
	c.resources = append(c.resources, named{cdnID, obj(pos, "Type", "AWS::CloudFront::Distribution", "Properties", obj(pos, "DistributionConfig", distribution))})
	if requestCode != "" {
		c.resources = append(c.resources, named{requestID, cloudFrontFunction(pos, stackName+"-"+region+"-"+id+"-request", requestCode)})
	}
	c.extensions = map[string]string{"distribution": cdnID, "bucket": bucketID}
	c.outputs = append([]named{
		{LogicalID(id, "BucketName"), obj(pos, "Description", "Name of the bucket that stores the static website.", "Value", ref(bucketID, pos))},
	}, distributionOutputs(id, cdnID, domainValue(cdnID, domains, pos), pos)...)
	c.variables["cname"] = getAtt(cdnID, "DomainName", pos)
	c.variables["assetsBucketName"] = ref(bucketID, pos)
	return c
}

// ensureNameMaxLength shortens a name to max characters as lift does:
// the start of the name, a dash and six hex digits of its MD5.
func ensureNameMaxLength(name string, max int) string {
	if len(name) <= max {
		return name
	}
	sum := md5.Sum([]byte(name))
	suffix := hex.EncodeToString(sum[:])[:6]
	return name[:max-len(suffix)-1] + "-" + suffix
}

// Website is a construct whose files lift uploads to its bucket after
// each deploy (and then invalidates its CloudFront cache).
type Website struct {
	ID, Type string
	// Path names what is uploaded, as written, for messages (a
	// server-side website's asset files and directories, quoted and
	// comma separated).
	Path string
	// BucketOutput and DistributionOutput are the stack outputs holding
	// the bucket's name and the distribution's ID.
	BucketOutput, DistributionOutput string
	// Versioned keeps obsolete files (lift's versionedAssets).
	Versioned bool
	Uploads   []Upload
}

// Upload is a file or directory (relative to the service) and the key
// prefix it goes under.
type Upload struct{ Prefix, Local string }

// Websites lists the website constructs of a service that uses lift, in
// the order they are written.
func Websites(root *config.Node) []Website {
	if !Enabled(root) {
		return nil
	}
	var out []Website
	for _, p := range root.Get("constructs").Entries() {
		v := p.Value
		w := Website{ID: p.Key, Type: v.Get("type").Scalar0(), DistributionOutput: LogicalID(p.Key, "DistributionId"),
			Versioned: isTrue(v.Get("versionedAssets"))}
		switch {
		case w.Type == ServerSideWebsiteType:
			var files []string
			for _, r := range serverSideAssets(v) {
				files = append(files, r.file)
				w.Uploads = append(w.Uploads, Upload{Prefix: strings.TrimPrefix(path.Dir(r.pattern), "/"), Local: r.file})
			}
			if len(files) == 0 {
				continue
			}
			w.Path = strings.Join(files, "', '")
			w.BucketOutput = LogicalID(p.Key, "AssetsBucketName")
		case IsWebsite(w.Type):
			w.Path = v.Get("path").Scalar0()
			w.BucketOutput = LogicalID(p.Key, "BucketName")
			w.Uploads = []Upload{{Local: w.Path}}
		default:
			continue
		}
		out = append(out, w)
	}
	return out
}

// websiteDomains reads a website construct's domain: one name or a list
// (an empty name means none).
func websiteDomains(v *config.Node) []string {
	var domains []string
	if d := v.Get("domain"); d != nil {
		switch d.Kind {
		case config.String:
			if s := d.Value.(string); s != "" {
				domains = []string{s}
			}
		case config.Seq:
			for _, it := range d.Items {
				domains = append(domains, it.Scalar())
			}
		}
	}
	return domains
}

// isTrue reports whether an optional setting is the boolean true, the
// only value lift's flags act on.
func isTrue(n *config.Node) bool {
	b, _ := n.Boolean()
	return b
}

// obsoleteExpiry is the bucket lifecycle of a website with
// versionedAssets: the upload tags obsolete files, which expire a day
// later.
func obsoleteExpiry(pos diag.Pos) *config.Node {
	return obj(pos, "Rules", config.NewSeq(pos, obj(pos,
		"ExpirationInDays", 1, "Status", "Enabled",
		"TagFilters", config.NewSeq(pos, obj(pos, "Key", "Obsolete", "Value", "true")))))
}

// mainDomainRedirect is the viewer-request code lift adds for
// redirectToMainDomain with two domains or more: other hosts get a 301
// to the first domain. Empty when it does not apply.
func mainDomainRedirect(v *config.Node, domains []string) string {
	if !isTrue(v.Get("redirectToMainDomain")) || len(domains) < 2 {
		return ""
	}
	return "\n    if (request.headers[\"host\"].value !== \"" + domains[0] + "\") {\n        return {\n            statusCode: 301,\n            statusDescription: \"Moved Permanently\",\n            headers: {\n                location: {\n                    value: \"https://" + domains[0] + "\" + request.uri\n                }\n            }\n        };\n    }"
}

// cloudFrontFunction is a website's CloudFront function resource; lift
// names it after the stack, region, construct and its event, shortened
// to CloudFront's 64 characters.
func cloudFrontFunction(pos diag.Pos, name, code string) *config.Node {
	name = ensureNameMaxLength(name, 64)
	return obj(pos, "Type", "AWS::CloudFront::Function", "Properties", obj(pos,
		"AutoPublish", true,
		"FunctionCode", code,
		"FunctionConfig", obj(pos, "Comment", name, "Runtime", "cloudfront-js-1.0"),
		"Name", name))
}

// setViewerCertificate gives a website distribution its custom domain
// certificate, when one is configured.
func setViewerCertificate(distribution *config.Node, certificate string) {
	if certificate != "" {
		distribution.Set("ViewerCertificate", obj(distribution.Pos, "AcmCertificateArn", certificate, "MinimumProtocolVersion", "TLSv1.2_2021", "SslSupportMethod", "sni-only"))
	}
}

// domainValue is a website's domain: its first custom domain, else the
// distribution's CloudFront domain.
func domainValue(cdnID string, domains []string, pos diag.Pos) *config.Node {
	if len(domains) > 0 {
		return config.NewString(domains[0], pos)
	}
	return getAtt(cdnID, "DomainName", pos)
}

// distributionOutputs are the outputs every website construct ends
// with: its domain, CloudFront CNAME and distribution ID (the deploy
// reads the ID to clear the cache).
func distributionOutputs(id, cdnID string, domain *config.Node, pos diag.Pos) []named {
	return []named{
		{LogicalID(id, "Domain"), obj(pos, "Description", "Website domain name.", "Value", domain)},
		{LogicalID(id, "CloudFrontCName"), obj(pos, "Description", "CloudFront CNAME.", "Value", getAtt(cdnID, "DomainName", pos))},
		{LogicalID(id, "DistributionId"), obj(pos, "Description", "ID of the CloudFront distribution.", "Value", ref(cdnID, pos))},
	}
}
