import Testing

@Test func placeholderExplorerCLITests() {}
