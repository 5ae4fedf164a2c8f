(module
  (type 0 (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (type 1 (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (type 2 (func (param i32) (result i32)))
  (type 3 (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "mem" (memory 17 17))
  (import "env" "load" (func 0 (type 0)))
  (import "env" "store" (func 1 (type 1)))
  (import "env" "step" (func 2 (type 2)))
  (export "run" (func 3))
  (func 3 (type 3) (export "run") (param i32 i32 i32 i32) (result i32)
    (local 4 i64) (local 5 i64) (local 6 i64) (local 7 i32) (local 8 i32) (local 9 i32) (local 10 i32) (local 11 i32) (local 12 i64) (local 13 i64) (local 14 i64) (local 15 i64) (local 16 i64) (local 17 i64)
    i32.const 0
    i64.load offset=512
    i64.const -4096
    i64.and
    local.set 4
    i32.const 0
    i64.load offset=80
    local.set 17
    local.get 2
    local.set 11
    local.get 4
    local.get 2
    i64.extend_i32_u
    i64.add
    local.set 5
    local.get 1
    i64.extend_i32_u
    local.set 12
    loop
      block
        block
          block
            local.get 11
            i32.const 1
            i32.shr_u
            i32.const 2046
            i32.sub
            br_table 0 2 1 2
          end
          local.get 17
          i64.const -1
          i64.add
          local.set 17
          local.get 10
          i32.const 1
          i32.add
          local.set 10
          local.get 10
          local.get 3
          i32.lt_s
          local.get 4
          i64.const 4096
          i64.add
          local.tee 6
          i32.wrap_i64
          i32.const 8
          i32.shr_u
          i32.const 16368
          i32.and
          i32.const 36864
          i32.add
          local.tee 8
          i64.load
          local.get 6
          local.get 0
          i64.extend_i32_u
          i64.or
          i64.eq
          local.get 8
          i32.load offset=8
          local.get 6
          i32.wrap_i64
          i32.add
          i32.const 28672
          i32.eq
          i32.and
          i32.and
          if
            br 1
          end
          local.get 4
          i64.const 4096
          i64.add
          local.set 5
          br 1
        end
        local.get 17
        i64.const 0
        i64.ne
        local.get 10
        i32.const 1
        i32.add
        local.set 10
        if
          local.get 10
          local.get 3
          i32.lt_s
          if
            i32.const 4092
            local.set 11
            br 3
          end
          local.get 4
          i64.const 4092
          i64.add
          local.set 5
          br 1
        else
          local.get 4
          i64.const 4100
          i64.add
          local.set 5
          br 1
        end
      end
      i32.const 0
      local.get 5
      i64.store offset=512
      i32.const 0
      local.get 17
      i64.store offset=80
      local.get 10
      return
    end
    i32.const 0
  )
)
