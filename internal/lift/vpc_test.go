package lift

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestVpcPointsProviderVpcAtItsPrivateSubnets checks what lift's vpc
// construct does to the config: provider.vpc holds CDK tokens in the
// copy serverless keeps as initialServerlessConfig, and the security
// group's ID and the two private subnets in the tree that is compiled.
func TestVpcPointsProviderVpcAtItsPrivateSubnets(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nplugins: [serverless-lift]\nconstructs:\n  net:\n    type: vpc\nfunctions:\n  api: {handler: h.api}\n")
	initial, ds := New(root).Expand(root, "dev")
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	tokens := initial.Lookup("provider", "vpc")
	if tokens == nil || len(tokens.Get("securityGroupIds").List()) != 1 || len(tokens.Get("subnetIds").List()) != 2 {
		t.Fatalf("initial provider.vpc = %v", tokens)
	}
	for _, n := range append(tokens.Get("securityGroupIds").List(), tokens.Get("subnetIds").List()...) {
		if s, _ := n.Str(); !HasToken(s) {
			t.Errorf("initial provider.vpc holds %q, want a CDK token", s)
		}
	}
	got, err := json.Marshal(root.Lookup("provider", "vpc").Interface())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"securityGroupIds":[{"Fn::GetAtt":["` + LogicalID("net", "AppSecurityGroup", "Resource") + `","GroupId"]}],` +
		`"subnetIds":[{"Ref":"` + LogicalID("net", "PrivateSubnet1", "Subnet") + `"},{"Ref":"` + LogicalID("net", "PrivateSubnet2", "Subnet") + `"}]}`
	if string(got) != want {
		t.Errorf("provider.vpc = %s\nwant %s", got, want)
	}
}

// TestVpcResourcesWireSubnetsToGateways checks the network itself: four
// /18 subnets, public ones routed to the internet gateway and each
// private one to the NAT gateway of the public subnet in its zone.
func TestVpcResourcesWireSubnetsToGateways(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nplugins: [serverless-lift]\nconstructs:\n  net: {type: vpc}\n")
	l := New(root)
	if _, ds := l.Expand(root, "dev"); ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	l.AddResources(root)
	res := root.Lookup("resources", "Resources")
	count := map[string]int{}
	for _, p := range res.Pairs {
		count[p.Value.Get("Type").Scalar0()]++
	}
	if count["AWS::EC2::Subnet"] != 4 || count["AWS::EC2::NatGateway"] != 2 || count["AWS::EC2::InternetGateway"] != 1 || count["AWS::EC2::SecurityGroup"] != 1 || count["AWS::EC2::Route"] != 4 {
		t.Errorf("resource types = %v", count)
	}
	cidr := func(name string) string {
		return res.Lookup(LogicalID("net", name, "Subnet"), "Properties", "CidrBlock").Scalar0()
	}
	if got := []string{cidr("PublicSubnet1"), cidr("PublicSubnet2"), cidr("PrivateSubnet1"), cidr("PrivateSubnet2")}; strings.Join(got, " ") != "10.0.0.0/18 10.0.64.0/18 10.0.128.0/18 10.0.192.0/18" {
		t.Errorf("subnet CIDR blocks = %v", got)
	}
	for i, zone := range []string{"1", "2"} {
		nat := res.Lookup(LogicalID("net", "PrivateSubnet"+zone, "DefaultRoute"), "Properties", "NatGatewayId", "Ref").Scalar0()
		if want := LogicalID("net", "PublicSubnet"+zone, "NATGateway"); nat != want {
			t.Errorf("private subnet %d routes to %q, want %q", i+1, nat, want)
		}
		igw := res.Lookup(LogicalID("net", "PublicSubnet"+zone, "DefaultRoute"), "Properties", "GatewayId", "Ref").Scalar0()
		if igw != LogicalID("net", "IGW") {
			t.Errorf("public subnet %d routes to %q", i+1, igw)
		}
	}
}

// TestVpcRefusesASecondVpc reports lift's LIFT_ONLY_ONE_VPC at the
// construct's type: a provider.vpc already written, or another vpc
// construct before it.
func TestVpcRefusesASecondVpc(t *testing.T) {
	for name, doc := range map[string]string{
		"provider.vpc written": "service: s\nprovider:\n  name: aws\n  vpc: {securityGroupIds: [sg-1], subnetIds: [subnet-1]}\nplugins: [serverless-lift]\nconstructs:\n  net:\n    type: vpc\n",
		"two vpc constructs":   "service: s\nprovider: {name: aws}\nplugins: [serverless-lift]\nconstructs:\n  first: {type: vpc}\n  net:\n    type: vpc\n",
	} {
		t.Run(name, func(t *testing.T) {
			root := parse(t, doc)
			_, ds := New(root).Expand(root, "dev")
			if !ds.HasErrors() {
				t.Fatal("no error for a second VPC")
			}
			d := ds[0]
			lines := strings.Split(doc, "\n")
			if d.Path != "constructs.net.type" || d.Pos.Line != len(lines)-1 || d.Pos.Col != 11 || !strings.Contains(d.Summary, "Can't register more than one VPC") {
				t.Errorf("diagnostic = %+v", d)
			}
			if fromConstruct := strings.Contains(d.Detail, "construct 'first' (line 5)"); fromConstruct != (name == "two vpc constructs") {
				t.Errorf("detail = %q", d.Detail)
			}
		})
	}
}

// TestVpcHasNoVariables: lift's vpc exposes no ${construct:…} property,
// so asking for one names the construct and lists none.
func TestVpcHasNoVariables(t *testing.T) {
	root := parse(t, "service: s\nprovider: {name: aws}\nplugins: [serverless-lift]\nconstructs:\n  net: {type: vpc}\n")
	_, err := New(root).Source(t.Context(), nil, "net.appSecurityGroupId")
	if err == nil || !strings.Contains(err.Error(), "${construct:net.appSecurityGroupId} does not exist") {
		t.Errorf("err = %v", err)
	}
}
