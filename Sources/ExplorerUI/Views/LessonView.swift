/// The lesson list overlay and the lesson pane.
enum LessonView {
  static func renderList(_ state: ExplorerState, into screen: inout CellScreen) {
    let lessons = state.lessons
    let rect = OverlayViews.centredBox(screen: screen, width: 80, height: max(1, lessons.count) + 4)
    screen.box(rect, title: "Lessons (Enter starts, Esc closes)", focused: true, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    let first = OverlayViews.scrollStart(cursor: state.lessonCursor, visible: inner.height, count: lessons.count)
    for (offset, index) in (first..<lessons.count).prefix(inner.height).enumerated() {
      let lesson = lessons[index]
      var line = StyledLine(Format.fit(lesson.name, 24), .bold)
      line.append(lesson.title)
      let y = inner.y + offset
      screen.draw(line, x: inner.x, y: y, width: inner.width)
      if index == state.lessonCursor {
        screen.restyle(Rect(x: inner.x, y: y, width: inner.width, height: 1)) { $0.reverse = true }
      }
    }
  }
}
