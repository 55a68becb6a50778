import Testing

@Test func placeholderP2PDMATests() {}
