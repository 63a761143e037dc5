import Foundation
import PoPS
import Testing

struct SHA256Tests {
  @Test func knownVectors() {
    #expect(TeacherImport.sha256(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(TeacherImport.sha256(of: Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    let long = Data(repeating: 0x61, count: 1_000)
    #expect(TeacherImport.sha256(of: long) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
  }
}
