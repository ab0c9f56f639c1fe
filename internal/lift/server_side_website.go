package lift

import (
	"path"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// ServerSideWebsiteType is lift's construct type for a website served by
// the service's own API behind CloudFront, with static assets from S3.
const ServerSideWebsiteType = "server-side-website"

// CloudFront's managed policies a server-side website's backend uses:
// nothing cached, everything but the Host header forwarded.
const (
	cachingDisabledPolicy        = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	allViewerExceptHostHeaderPol = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
)

// assetRoute is one `assets` entry: a URL pattern and the file or
// directory served there.
type assetRoute struct{ pattern, file string }

// serverSideAssets are a server-side website's asset routes in lift's
// order: `assets` as written, then the error page under its file name
// (replacing an asset route of that name where it stood).
func serverSideAssets(v *config.Node) []assetRoute {
	var routes []assetRoute
	for _, p := range v.Get("assets").Entries() {
		routes = append(routes, assetRoute{p.Key, p.Value.Scalar0()})
	}
	if e, ok := v.Get("errorPage").Str(); ok {
		pattern := "/" + path.Base(e)
		for i := range routes {
			if routes[i].pattern == pattern {
				routes[i].file = e
				return routes
			}
		}
		routes = append(routes, assetRoute{pattern, e})
	}
	return routes
}

// buildServerSideWebsite is lift's server-side-website construct: a
// CloudFront distribution whose default behaviour reaches the service's
// HTTP API (or REST API) uncached, with each asset route served from a
// private bucket through an origin access control.
func buildServerSideWebsite(id string, v *config.Node, stackName, stage, region string, ds *diag.Diagnostics) *construct {
	pos := v.Pos
	cpath := "constructs." + id
	c := &construct{id: id, pos: pos, variables: map[string]*config.Node{}}
	errorPage, hasErrorPage := v.Get("errorPage").Str()
	if hasErrorPage && !strings.HasSuffix(errorPage, ".html") {
		ds.Errorf(v.Get("errorPage").Pos, cpath+".errorPage", "Invalid configuration in 'constructs.%s.errorPage': the custom error page must be a static HTML file. '%s' does not end with '.html'.", id, errorPage)
		return nil
	}
	domains := websiteDomains(v)
	certificate := v.Get("certificate").Scalar0()
	if len(domains) > 0 && certificate == "" {
		ds.Errorf(v.Get("domain").Pos, cpath+".certificate", "Invalid configuration in 'constructs.%s.certificate': if a domain is configured, then a certificate ARN must be configured as well.", id)
		return nil
	}
	routes := serverSideAssets(v)
	for _, r := range routes {
		if r.pattern == "/" || r.pattern == "/*" {
			at := v.Lookup("assets", r.pattern)
			if at == nil {
				at = v
			}
			ds.Errorf(at.Pos, cpath+".assets", "Invalid key in 'constructs.%s.assets': '/' and '/*' cannot be routed to assets because the root URL already serves the backend application running in Lambda. You must use a sub-path instead, for example '/assets/*'.", id)
			return nil
		}
	}
	rest := v.Get("apiGateway").Scalar0() == "rest"
	if assets := v.Get("assets"); hasErrorPage && assets != nil && assets.Kind == config.Map {
		// Lift adds the error page to the configuration's own assets,
		// which serverless-state.json keeps.
		assets.Set("/"+path.Base(errorPage), config.NewString(errorPage, v.Get("errorPage").Pos))
	}

	bucketID := LogicalID(id, "Assets", "Resource")
	policyID := LogicalID(id, "Assets", "Policy", "Resource")
	requestID := LogicalID(id, "RequestFunction", "Resource")
	accessControlID := LogicalID(id, "S3OriginAccessControl", "Resource")
	cdnID := LogicalID(id, "CDN", "Resource")
	originID := func(n int) string { return LogicalID(id, "CDN", "Origin"+strconv.Itoa(n)) }

	bucket := obj(pos, "Type", "AWS::S3::Bucket")
	if isTrue(v.Get("versionedAssets")) {
		bucket.Set("Properties", obj(pos, "LifecycleConfiguration", obsoleteExpiry(pos)))
	}
	bucket.Set("UpdateReplacePolicy", config.NewString("Delete", pos))
	bucket.Set("DeletionPolicy", config.NewString("Delete", pos))
	resources := []named{{bucketID, bucket}}
	if len(routes) > 0 {
		// Origin access control lets only this distribution read objects.
		distributionArn := join("", pos, config.NewString("arn:", pos), ref("AWS::Partition", pos),
			config.NewString(":cloudfront::", pos), ref("AWS::AccountId", pos),
			config.NewString(":distribution/", pos), ref(cdnID, pos))
		resources = append(resources, named{policyID, obj(pos, "Type", "AWS::S3::BucketPolicy", "Properties", obj(pos,
			"Bucket", ref(bucketID, pos),
			"PolicyDocument", obj(pos, "Statement", config.NewSeq(pos, obj(pos,
				"Action", "s3:GetObject",
				"Condition", obj(pos, "StringEquals", obj(pos, "AWS:SourceArn", distributionArn)),
				"Effect", "Allow",
				"Principal", obj(pos, "Service", "cloudfront.amazonaws.com"),
				"Resource", join("", pos, getAtt(bucketID, "Arn", pos), config.NewString("/*", pos)))),
				"Version", "2012-10-17")))})
	}

	redirect := mainDomainRedirect(v, domains)
	resources = append(resources, named{requestID, cloudFrontFunction(pos, stackName+"-"+region+"-"+id+"-request",
		"function handler(event) {\n    var request = event.request;\n    request.headers[\"x-forwarded-host\"] = request.headers[\"host\"];"+redirect+"\n    return request;\n}")})
	if len(routes) > 0 {
		resources = append(resources, named{accessControlID, obj(pos, "Type", "AWS::CloudFront::OriginAccessControl", "Properties", obj(pos,
			"OriginAccessControlConfig", obj(pos,
				"Name", ensureNameMaxLength(stackName+"-"+id+"-oac", 64),
				"OriginAccessControlOriginType", "s3",
				"SigningBehavior", "always",
				"SigningProtocol", "sigv4")))})
	}

	apiID := "HttpApi"
	if rest {
		apiID = "ApiGatewayRestApi"
	}
	backend := obj(pos,
		"CustomOriginConfig", obj(pos, "OriginProtocolPolicy", "https-only", "OriginSSLProtocols", stringList(pos, "TLSv1.2")),
		"DomainName", join(".", pos, ref(apiID, pos), config.NewString("execute-api."+region+".amazonaws.com", pos)),
		"Id", originID(1))
	if rest {
		backend.Set("OriginPath", config.NewString("/"+stage, pos))
	}
	origins := config.NewSeq(pos, backend)
	behaviors := config.NewSeq(pos)
	for i, r := range routes {
		id := originID(i + 2)
		origins.Items = append(origins.Items, obj(pos,
			"DomainName", getAtt(bucketID, "RegionalDomainName", pos),
			"Id", id,
			"OriginAccessControlId", getAtt(accessControlID, "Id", pos),
			"S3OriginConfig", obj(pos, "OriginAccessIdentity", "")))
		behaviors.Items = append(behaviors.Items, obj(pos,
			"AllowedMethods", stringList(pos, "GET", "HEAD", "OPTIONS"),
			"CachePolicyId", cachingOptimizedPolicy,
			"Compress", true,
			"PathPattern", r.pattern,
			"TargetOriginId", id,
			"ViewerProtocolPolicy", "redirect-to-https"))
	}
	errorResponses := config.NewSeq(pos)
	for _, status := range []int{500, 504} {
		r := obj(pos, "ErrorCachingMinTTL", 0, "ErrorCode", status)
		if hasErrorPage {
			r.Set("ResponseCode", config.NewInt(int64(status), pos))
			r.Set("ResponsePagePath", config.NewString("/"+path.Base(errorPage), pos))
		}
		errorResponses.Items = append(errorResponses.Items, r)
	}
	distribution := config.NewMap(pos)
	if len(domains) > 0 {
		distribution.Set("Aliases", stringList(pos, domains...))
	}
	if len(behaviors.Items) > 0 {
		distribution.Set("CacheBehaviors", behaviors)
	}
	distribution.Set("Comment", config.NewString(stackName+" "+id+" website CDN", pos))
	distribution.Set("CustomErrorResponses", errorResponses)
	distribution.Set("DefaultCacheBehavior", obj(pos,
		"AllowedMethods", stringList(pos, "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"),
		"CachePolicyId", cachingDisabledPolicy,
		"Compress", true,
		"FunctionAssociations", config.NewSeq(pos, obj(pos, "EventType", "viewer-request", "FunctionARN", getAtt(requestID, "FunctionARN", pos))),
		"OriginRequestPolicyId", allViewerExceptHostHeaderPol,
		"TargetOriginId", originID(1),
		"ViewerProtocolPolicy", "redirect-to-https"))
	distribution.Set("Enabled", config.NewBool(true, pos))
	distribution.Set("HttpVersion", config.NewString("http2and3", pos))
	distribution.Set("IPV6Enabled", config.NewBool(true, pos))
	distribution.Set("Origins", origins)
	setViewerCertificate(distribution, certificate)
	resources = append(resources, named{cdnID, obj(pos, "Type", "AWS::CloudFront::Distribution", "Properties", obj(pos, "DistributionConfig", distribution))})

	c.resources = resources
	c.extensions = map[string]string{"distribution": cdnID, "bucket": bucketID}
	domain := domainValue(cdnID, domains, pos)
	c.outputs = append([]named{
		{LogicalID(id, "AssetsBucketName"), obj(pos, "Description", "Name of the bucket that stores the website assets.", "Value", ref(bucketID, pos))},
	}, distributionOutputs(id, cdnID, domain.Clone(), pos)...)
	if len(domains) > 0 {
		// CDK folds a join of plain text into the text.
		c.variables["url"] = config.NewString("https://"+domains[0], pos)
	} else {
		c.variables["url"] = join("", pos, config.NewString("https://", pos), domain)
	}
	c.variables["cname"] = getAtt(cdnID, "DomainName", pos)
	c.variables["assetsBucketName"] = ref(bucketID, pos)
	return c
}
