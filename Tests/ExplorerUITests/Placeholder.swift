import Testing

@Test func placeholderExplorerUITests() {}
