import Testing

@Test func placeholderPCITopologyTests() {}
