package lift

import (
	"fmt"
	"strconv"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// VpcType is lift's vpc construct.
const VpcType = "vpc"

// vpcSubnetCount is lift's maxAzs: one public and one private subnet in
// each of the region's first two availability zones.
const vpcSubnetCount = 2

// Keys of the vpc construct's internal values: Expand points
// provider.vpc at them. They are not ${construct:…} properties (lift's
// vpc has none), so Source never hands them out to users.
const (
	vpcSecurityGroupValue = "appSecurityGroupId"
	vpcPrivateSubnetValue = "privateSubnet"
)

// buildVpc is lift's vpc construct: CDK's default Vpc limited to two
// availability zones (a /16 split into public and private /18 subnets,
// an internet gateway, a NAT gateway per public subnet) and a security
// group allowing all outbound traffic. Lift then makes the functions run
// in the private subnets with that group, through provider.vpc.
func buildVpc(id string, v *config.Node) *construct {
	pos := v.Pos
	c := &construct{id: id, pos: pos, variables: map[string]*config.Node{}, extensions: map[string]string{}}
	vpcID := LogicalID(id, "Resource")
	igwID := LogicalID(id, "IGW")
	attachmentID := LogicalID(id, "VPCGW")
	nameTag := func(name string) *config.Node {
		return config.NewSeq(pos, obj(pos, "Key", "Name", "Value", name))
	}
	c.resources = append(c.resources, named{vpcID, obj(pos, "Type", "AWS::EC2::VPC", "Properties", obj(pos,
		"CidrBlock", "10.0.0.0/16", "EnableDnsHostnames", true, "EnableDnsSupport", true,
		"InstanceTenancy", "default", "Tags", nameTag("Default/"+id)))})

	natGateways := make([]string, vpcSubnetCount)
	// CDK creates every public subnet, then every private one; CIDR
	// blocks are consecutive /18s in that order.
	block := 0
	for _, kind := range []string{"Public", "Private"} {
		for i := 0; i < vpcSubnetCount; i++ {
			name := kind + "Subnet" + strconv.Itoa(i+1)
			path := "Default/" + id + "/" + name
			subnetID := LogicalID(id, name, "Subnet")
			tableID := LogicalID(id, name, "RouteTable")
			associationID := LogicalID(id, name, "RouteTableAssociation")
			routeID := LogicalID(id, name, "DefaultRoute")
			az := obj(pos, "Fn::Select", config.NewSeq(pos, config.NewInt(int64(i), pos), obj(pos, "Fn::GetAZs", "")))
			c.resources = append(c.resources,
				named{subnetID, obj(pos, "Type", "AWS::EC2::Subnet", "Properties", obj(pos,
					"AvailabilityZone", az,
					"CidrBlock", fmt.Sprintf("10.0.%d.0/18", block*64),
					"MapPublicIpOnLaunch", kind == "Public",
					"Tags", config.NewSeq(pos,
						obj(pos, "Key", "aws-cdk:subnet-name", "Value", kind),
						obj(pos, "Key", "aws-cdk:subnet-type", "Value", kind),
						obj(pos, "Key", "Name", "Value", path)),
					"VpcId", ref(vpcID, pos)))},
				named{tableID, obj(pos, "Type", "AWS::EC2::RouteTable", "Properties", obj(pos,
					"Tags", nameTag(path), "VpcId", ref(vpcID, pos)))},
				named{associationID, obj(pos, "Type", "AWS::EC2::SubnetRouteTableAssociation", "Properties", obj(pos,
					"RouteTableId", ref(tableID, pos), "SubnetId", ref(subnetID, pos)))},
			)
			block++
			if kind == "Private" {
				c.resources = append(c.resources, named{routeID, obj(pos, "Type", "AWS::EC2::Route", "Properties", obj(pos,
					"DestinationCidrBlock", "0.0.0.0/0", "NatGatewayId", ref(natGateways[i], pos),
					"RouteTableId", ref(tableID, pos)))})
				c.variables[vpcPrivateSubnetValue+strconv.Itoa(i+1)] = ref(subnetID, pos)
				continue
			}
			eipID := LogicalID(id, name, "EIP")
			natID := LogicalID(id, name, "NATGateway")
			natGateways[i] = natID
			c.resources = append(c.resources,
				named{routeID, obj(pos, "Type", "AWS::EC2::Route", "Properties", obj(pos,
					"DestinationCidrBlock", "0.0.0.0/0", "GatewayId", ref(igwID, pos),
					"RouteTableId", ref(tableID, pos)),
					"DependsOn", stringList(pos, attachmentID))},
				named{eipID, obj(pos, "Type", "AWS::EC2::EIP", "Properties", obj(pos,
					"Domain", "vpc", "Tags", nameTag(path)))},
				named{natID, obj(pos, "Type", "AWS::EC2::NatGateway", "Properties", obj(pos,
					"AllocationId", getAtt(eipID, "AllocationId", pos), "SubnetId", ref(subnetID, pos),
					"Tags", nameTag(path)),
					"DependsOn", stringList(pos, routeID, associationID))},
			)
		}
	}
	sgID := LogicalID(id, "AppSecurityGroup", "Resource")
	c.resources = append(c.resources,
		named{igwID, obj(pos, "Type", "AWS::EC2::InternetGateway", "Properties", obj(pos, "Tags", nameTag("Default/"+id)))},
		named{attachmentID, obj(pos, "Type", "AWS::EC2::VPCGatewayAttachment", "Properties", obj(pos,
			"InternetGatewayId", ref(igwID, pos), "VpcId", ref(vpcID, pos)))},
		// The group inherits the VPC's Name tag: CDK tags a VPC's whole
		// subtree with its path.
		named{sgID, obj(pos, "Type", "AWS::EC2::SecurityGroup", "Properties", obj(pos,
			"GroupDescription", "Default/"+id+"/AppSecurityGroup",
			"SecurityGroupEgress", config.NewSeq(pos, obj(pos,
				"CidrIp", "0.0.0.0/0", "Description", "Allow all outbound traffic by default", "IpProtocol", "-1")),
			"Tags", nameTag("Default/"+id),
			"VpcId", ref(vpcID, pos)))},
	)
	c.variables[vpcSecurityGroupValue] = getAtt(sgID, "GroupId", pos)
	return c
}

// useVpc points provider.vpc at a vpc construct's security group and
// private subnets, as lift's setVpcConfig does while the construct is
// built: the values are tokens until Expand resolves them, so
// initialServerlessConfig keeps the token text as v3 + lift write it.
// Like lift, a second VPC (another vpc construct, or provider.vpc
// written in the config) is an error.
func (l *Lift) useVpc(root *config.Node, c *construct, typePos diag.Pos, ds *diag.Diagnostics) {
	provider := root.Get("provider")
	if existing := provider.Get("vpc"); existing != nil && existing.Kind != config.Null {
		ds.Errorf(typePos, "constructs."+c.id+".type", "Can't register more than one VPC. Either you have several \"vpc\" constructs or you already defined \"provider.vpc\" in serverless.yml")
		detail := fmt.Sprintf("provider.vpc is already set (line %d); remove it or the vpc construct.", existing.Pos.Line)
		if l.vpcConstruct != "" {
			detail = fmt.Sprintf("The vpc construct '%s' (line %d) already gives the functions their VPC; keep one.", l.vpcConstruct, existing.Pos.Line)
		}
		(*ds)[len(*ds)-1].Detail = detail
		return
	}
	if provider == nil || provider.Kind != config.Map {
		return
	}
	token := func(property string) *config.Node {
		return config.NewString(l.newToken(c.id, property), c.pos)
	}
	subnets := config.NewSeq(c.pos)
	for i := 1; i <= vpcSubnetCount; i++ {
		subnets.Items = append(subnets.Items, token(vpcPrivateSubnetValue+strconv.Itoa(i)))
	}
	l.vpcConstruct = c.id
	provider.Set("vpc", obj(c.pos, "securityGroupIds", config.NewSeq(c.pos, token(vpcSecurityGroupValue)), "subnetIds", subnets))
}
