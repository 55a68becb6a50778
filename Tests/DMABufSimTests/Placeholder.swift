import Testing

@Test func placeholderDMABufSimTests() {}
