(module
  (type 0 (func (param i32 i32 i32 i32 i32 i32) (result i32)))
  (type 1 (func (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (type 2 (func (param i32) (result i32)))
  (type 3 (func))
  (type 4 (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "mem" (memory 17 17 shared))
  (import "env" "load" (func 0 (type 0)))
  (import "env" "store" (func 1 (type 1)))
  (import "env" "step" (func 2 (type 2)))
  (import "env" "spin" (func 3 (type 3)))
  (export "run" (func 4))
  (func 4 (type 4) (export "run") (param i32 i32 i32 i32) (result i32)
    (local 4 i64) (local 5 i64) (local 6 i64) (local 7 i32) (local 8 i32) (local 9 i32) (local 10 i32) (local 11 i32) (local 12 i64) (local 13 i64) (local 14 i64) (local 15 i64) (local 16 i64) (local 17 i64) (local 18 i64) (local 19 i64) (local 20 i64) (local 21 i64) (local 22 i64)
    i32.const 0
    i64.load offset=512
    i64.const -4096
    i64.and
    local.set 4
    i32.const 0
    i64.load offset=8
    local.set 17
    i32.const 0
    i64.load offset=80
    local.set 18
    i32.const 0
    i64.load offset=88
    local.set 19
    i32.const 0
    i64.load offset=96
    local.set 20
    i32.const 0
    i64.load offset=104
    local.set 21
    i32.const 0
    i64.load offset=112
    local.set 22
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
          local.get 11
          i32.const 1
          i32.shr_u
          br_table 0 1
        end
        local.get 20
        local.set 6
        local.get 6
        i32.wrap_i64
        i32.const 3
        i32.and
        i32.eqz
        local.get 6
        i32.wrap_i64
        local.tee 7
        i32.const 8
        i32.shr_u
        i32.const 16368
        i32.and
        i32.const 20480
        i32.add
        local.tee 8
        i64.load
        local.get 6
        i64.const -4096
        i64.and
        local.get 12
        i64.or
        i64.eq
        local.get 7
        i32.const 4095
        i32.and
        i32.const 4092
        i32.le_u
        i32.and
        i32.and
        if
          local.get 7
          local.get 8
          i32.load offset=8
          i32.add
          local.set 8
          local.get 8
          local.get 19
          i32.wrap_i64
          i32.atomic.rmw.add
          i64.extend_i32_s
          local.set 18
        else
          i32.const 0
          local.get 18
          i64.store offset=80
          i32.const 0
          local.get 4
          i64.store offset=512
          local.get 10
          i32.const 0
          i32.add
          call 2
          local.tee 9
          i32.const 0
          i64.load offset=80
          local.set 18
          if
            i32.const 0
            i64.load offset=512
            local.set 5
            local.get 10
            i32.const 536870912
            i32.add
            local.get 9
            i32.const 1
            i32.shr_u
            i32.add
            local.set 10
            br 2
          end
        end
        local.get 20
        local.set 6
        local.get 6
        i32.wrap_i64
        i32.const 7
        i32.and
        i32.eqz
        local.get 6
        i32.wrap_i64
        local.tee 7
        i32.const 8
        i32.shr_u
        i32.const 16368
        i32.and
        i32.const 4096
        i32.add
        local.tee 8
        i64.load
        local.get 6
        i64.const -4096
        i64.and
        local.get 12
        i64.or
        i64.eq
        local.get 7
        i32.const 4095
        i32.and
        i32.const 4088
        i32.le_u
        i32.and
        i32.and
        if
          local.get 7
          local.get 8
          i32.load offset=8
          i32.add
          local.set 8
          local.get 8
          i64.load
          local.tee 15
          local.set 21
          i32.const 0
          local.get 15
          i64.store offset=536
          i32.const 0
          i32.const 1
          i32.store offset=520
          i32.const 0
          local.get 6
          i64.store offset=528
        else
          i32.const 0
          local.get 21
          i64.store offset=104
          i32.const 0
          local.get 4
          i64.const 4
          i64.add
          i64.store offset=512
          local.get 10
          i32.const 1
          i32.add
          call 2
          local.tee 9
          i32.const 0
          i64.load offset=104
          local.set 21
          if
            i32.const 0
            i64.load offset=512
            local.set 5
            local.get 10
            i32.const 536870913
            i32.add
            local.get 9
            i32.const 1
            i32.shr_u
            i32.add
            local.set 10
            br 2
          end
        end
        local.get 20
        local.set 6
        local.get 6
        i32.wrap_i64
        i32.const 7
        i32.and
        i32.eqz
        if
          i32.const 0
          i32.load offset=520
          i32.const 0
          i64.load offset=528
          local.get 6
          i64.eq
          i32.and
          if
            local.get 6
            i32.wrap_i64
            local.tee 7
            i32.const 8
            i32.shr_u
            i32.const 16368
            i32.and
            i32.const 20480
            i32.add
            local.tee 8
            i64.load
            local.get 6
            i64.const -4096
            i64.and
            local.get 12
            i64.or
            i64.eq
            local.get 7
            i32.const 4095
            i32.and
            i32.const 4088
            i32.le_u
            i32.and
            if
              local.get 7
              local.get 8
              i32.load offset=8
              i32.add
              i32.const 0
              i64.load offset=536
              local.tee 15
              local.get 19
              i64.atomic.rmw.cmpxchg
              local.get 15
              i64.ne
              i64.extend_i32_u
              local.set 22
              i32.const 0
              i32.const 0
              i32.store offset=520
            else
              i32.const 0
              local.get 22
              i64.store offset=112
              i32.const 0
              local.get 4
              i64.const 8
              i64.add
              i64.store offset=512
              local.get 10
              i32.const 2
              i32.add
              call 2
              local.tee 9
              i32.const 0
              i64.load offset=112
              local.set 22
              if
                i32.const 0
                i64.load offset=512
                local.set 5
                local.get 10
                i32.const 536870914
                i32.add
                local.get 9
                i32.const 1
                i32.shr_u
                i32.add
                local.set 10
                br 4
              end
            end
          else
            i32.const 0
            i32.const 0
            i32.store offset=520
            i64.const 1
            local.set 22
          end
        else
          i32.const 0
          local.get 22
          i64.store offset=112
          i32.const 0
          local.get 4
          i64.const 8
          i64.add
          i64.store offset=512
          local.get 10
          i32.const 2
          i32.add
          call 2
          local.tee 9
          i32.const 0
          i64.load offset=112
          local.set 22
          if
            i32.const 0
            i64.load offset=512
            local.set 5
            local.get 10
            i32.const 536870914
            i32.add
            local.get 9
            i32.const 1
            i32.shr_u
            i32.add
            local.set 10
            br 2
          end
        end
        local.get 17
        i64.const 0
        i64.add
        i64.const -2
        i64.and
        local.set 5
        local.get 4
        i64.const 16
        i64.add
        drop
        local.get 10
        i32.const 4
        i32.add
        local.set 10
        local.get 5
        local.get 4
        i64.xor
        i64.const 12
        i64.shr_u
        i64.eqz
        local.get 10
        local.get 3
        i32.lt_s
        i32.and
        if
          local.get 5
          i32.wrap_i64
          i32.const 4095
          i32.and
          local.set 11
          br 2
        end
        br 0
      end
      i32.const 0
      local.get 5
      i64.store offset=512
      i32.const 0
      local.get 18
      i64.store offset=80
      i32.const 0
      local.get 21
      i64.store offset=104
      i32.const 0
      local.get 22
      i64.store offset=112
      local.get 10
      return
    end
    i32.const 0
  )
)
