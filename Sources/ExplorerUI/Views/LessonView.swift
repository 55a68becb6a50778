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

extension LessonView {
  /// The lesson pane (in the Details pane's place while a lesson runs): the page's narration,
  /// its checkpoint, and after an answer whether it was right and why. Scrolls like Details.
  static func renderPane(_ state: ExplorerState, into screen: inout CellScreen, rect: Rect, focused: Bool) {
    guard let (lesson, _, run) = state.currentLesson else {
      DetailsView.render(state, into: &screen, rect: rect, focused: focused)
      return
    }
    let title = "Lesson \(lesson.name) — page \(run.page + 1)/\(lesson.pages.count)  ] next  [ back"
    screen.box(rect, title: title, focused: focused, glyphs: state.display.glyphs)
    let inner = rect.inset(by: 1)
    guard !inner.isEmpty else { return }
    let lines = paneLines(state, width: inner.width)
    let first = min(max(0, state.detailsScroll), max(0, lines.count - inner.height))
    for (offset, line) in lines.dropFirst(first).prefix(inner.height).enumerated() {
      screen.draw(line, x: inner.x, y: inner.y + offset, width: inner.width)
    }
    if lines.count > inner.height + first, rect.width > 12 {
      screen.put(" more ↓ ", x: rect.maxX - 10, y: rect.maxY - 1, style: .role(.dim))
    }
  }

  static func paneLines(_ state: ExplorerState, width: Int) -> [StyledLine] {
    guard let (lesson, page, run) = state.currentLesson else { return [] }
    var lines: [StyledLine] = []
    if run.page == 0 { lines.append(StyledLine(lesson.title, .bold)) }
    for text in Format.wrap(page.text, width: width) { lines.append(StyledLine(text)) }
    if let predict = page.predict {
      lines.append(StyledLine(""))
      for text in Format.wrap("Predict: \(predict.question)", width: width) {
        lines.append(StyledLine(text, CellStyle(bold: true, role: .accent)))
      }
      for (index, choice) in predict.choices.enumerated() {
        var style = CellStyle.plain
        if let picked = run.picked {
          if index == predict.answer { style = CellStyle(bold: true, role: .good) }
          if index == picked, picked != predict.answer { style = CellStyle(bold: true, role: .error) }
        }
        lines.append(StyledLine("  \(index + 1)  \(choice)", style))
      }
      if let picked = run.picked {
        let right = picked == predict.answer
        let verdict =
          right
          ? "\(state.display.glyphs.check) Right: \(predict.why)"
          : "\(state.display.glyphs.cross) Not quite (you chose \(picked + 1), the answer is \(predict.answer + 1)): "
            + predict.why
        for text in Format.wrap(verdict, width: width) {
          lines.append(StyledLine(text, CellStyle(bold: true, role: right ? .good : .error)))
        }
        lines.append(StyledLine("] continues", .role(.dim)))
      } else {
        lines.append(StyledLine("Press 1-\(predict.choices.count) to answer.", .role(.dim)))
      }
    } else {
      let last = run.page == lesson.pages.count - 1
      lines.append(StyledLine(last ? "] ends the lesson" : "] next page", .role(.dim)))
    }
    return lines
  }
}
